"""Managing inbound sources and settling integration exceptions: admin only (DESIGN.md §7)."""

from __future__ import annotations

import json

import strawberry
from strawberry.scalars import JSON

from gateway.connect.types import (
    InboundSource,
    InboundSourceCreated,
    IntegrationException,
    SourceKind,
)
from gateway.context import Info
from gateway.errors import call
from weftwork.connect.v1 import connect_service_pb2 as pb


@strawberry.input
class InboundSourceInput:
    name: str
    kind: SourceKind
    secret: str | None = strawberry.field(default=None, description="HUBSPOT: client secret.")
    org_ids: list[str] = strawberry.field(default_factory=list, description="SALESFORCE.")
    mapping: JSON | None = None
    api_token: str | None = strawberry.field(default=None, description="HUBSPOT private app.")
    api_base_url: str | None = None
    public_url: str | None = None


@strawberry.input
class InboundSourceUpdate:
    mapping: JSON | None = None
    secret: str | None = None
    org_ids: list[str] | None = None
    api_token: str | None = None
    api_base_url: str | None = None
    public_url: str | None = None
    enabled: bool | None = None


def _mapping(value: JSON | None) -> str:
    return "" if value is None else json.dumps(value)


@strawberry.type
class ConnectMutations:
    @strawberry.mutation(description="A new inbound source; its hook is /hooks/<name>.")
    async def create_inbound_source(
        self, info: Info, input: InboundSourceInput
    ) -> InboundSourceCreated:
        info.context.principal.require("createInboundSource")
        answer = await call(
            "connect",
            info.context.clients.connect.CreateInboundSource(
                pb.CreateInboundSourceRequest(
                    name=input.name,
                    kind=input.kind.value,
                    secret=input.secret or "",
                    org_ids=input.org_ids,
                    mapping_json=_mapping(input.mapping),
                    api_token=input.api_token or "",
                    api_base_url=input.api_base_url or "",
                    public_url=input.public_url or "",
                )
            ),
        )
        return InboundSourceCreated(
            source=InboundSource.from_proto(answer.source), secret=answer.secret or None
        )

    @strawberry.mutation(description="Change a source; a new mapping is validated on save.")
    async def update_inbound_source(
        self, info: Info, name: str, input: InboundSourceUpdate
    ) -> InboundSource:
        info.context.principal.require("updateInboundSource")
        request = pb.UpdateInboundSourceRequest(name=name)
        if input.mapping is not None:
            request.mapping_json = _mapping(input.mapping)
        for field in ("secret", "api_token", "api_base_url", "public_url", "enabled"):
            value = getattr(input, field)
            if value is not None:
                setattr(request, field, value)
        if input.org_ids is not None:
            request.org_ids.extend(input.org_ids)
            request.replace_org_ids = True
        answer = await call("connect", info.context.clients.connect.UpdateInboundSource(request))
        return InboundSource.from_proto(answer.source)

    @strawberry.mutation(
        description="Process the exception's receipt again with the current mapping."
    )
    async def retry_integration_exception(
        self, info: Info, id: strawberry.ID
    ) -> IntegrationException:
        info.context.principal.require("retryIntegrationException")
        answer = await call(
            "connect",
            info.context.clients.connect.RetryIntegrationException(
                pb.RetryIntegrationExceptionRequest(id=str(id))
            ),
        )
        return IntegrationException.from_proto(answer.exception)

    @strawberry.mutation(description="Close the exception without an engagement.")
    async def dismiss_integration_exception(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> IntegrationException:
        info.context.principal.require("dismissIntegrationException")
        answer = await call(
            "connect",
            info.context.clients.connect.DismissIntegrationException(
                pb.DismissIntegrationExceptionRequest(id=str(id), reason=reason)
            ),
        )
        return IntegrationException.from_proto(answer.exception)
