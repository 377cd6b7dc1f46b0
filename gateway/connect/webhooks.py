"""Outbound webhooks and CRM write-back over GraphQL: admin manages; finance and admin read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import strawberry
from strawberry.scalars import JSON

from gateway.connect.queries import require_reader
from gateway.connect.webhook_types import (
    CrmKind,
    CrmWriteBack,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreated,
)
from gateway.context import Info
from gateway.errors import BadUserInput, call
from gateway.pagination import Connection, paginate
from weftwork.connect.v1 import connect_service_pb2 as pb


@strawberry.input
class WebhookEndpointInput:
    url: str
    event_types: list[str]
    legal_entities: list[str] = strawberry.field(default_factory=list)
    description: str | None = None


@strawberry.input
class WebhookEndpointUpdate:
    url: str | None = None
    event_types: list[str] | None = None
    legal_entities: list[str] | None = None
    description: str | None = None
    enabled: bool | None = None


@strawberry.input
class CrmWriteBackInput:
    source: str = strawberry.field(description="The inbound source whose engagements it serves.")
    kind: CrmKind
    base_url: str | None = None
    token: str | None = strawberry.field(
        default=None, description="Private-app token / OAuth access token; omit to keep it."
    )
    fields: JSON | None = None
    api_version: str | None = None
    enabled: bool = True


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Every outbound webhook endpoint (secrets are never shown).")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        require_reader(info, "webhookEndpoints")
        answer = await call(
            "connect",
            info.context.clients.connect.ListWebhookEndpoints(pb.ListWebhookEndpointsRequest()),
        )
        return [WebhookEndpoint.from_proto(e) for e in answer.endpoints]

    @strawberry.field(description="An endpoint's (or CRM write-back's) deliveries, newest first.")
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Connection[WebhookDelivery]:
        require_reader(info, "webhookDeliveries")
        client = info.context.clients.connect

        async def fetch(size: int, token: str) -> tuple[Sequence[WebhookDelivery], str]:
            page = await call(
                "connect",
                client.ListWebhookDeliveries(
                    pb.ListWebhookDeliveriesRequest(
                        endpoint_id=str(endpoint_id),
                        page_size=size,
                        page_token=token,
                        status=status.value if status else pb.DELIVERY_STATUS_UNSPECIFIED,
                    )
                ),
            )
            found = [WebhookDelivery.from_proto(d) for d in page.deliveries]
            return found, page.next_page_token

        return await paginate(fetch, first=first, after=after)

    @strawberry.field(description="CRM write-back per inbound source (tokens are never shown).")
    async def crm_write_backs(self, info: Info) -> list[CrmWriteBack]:
        require_reader(info, "crmWriteBacks")
        answer = await call(
            "connect",
            info.context.clients.connect.ListCrmWriteBacks(pb.ListCrmWriteBacksRequest()),
        )
        return [CrmWriteBack.from_proto(w) for w in answer.writebacks]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="A new endpoint; the answer carries its secret, once.")
    async def create_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointCreated:
        info.context.principal.require("createWebhookEndpoint")
        answer = await call(
            "connect",
            info.context.clients.connect.CreateWebhookEndpoint(
                pb.CreateWebhookEndpointRequest(
                    url=input.url,
                    event_types=input.event_types,
                    legal_entities=input.legal_entities,
                    description=input.description or "",
                )
            ),
        )
        return WebhookEndpointCreated(
            endpoint=WebhookEndpoint.from_proto(answer.endpoint), secret=answer.secret
        )

    @strawberry.mutation(description="Change an endpoint; enabling it resumes its deliveries.")
    async def update_webhook_endpoint(
        self, info: Info, id: strawberry.ID, input: WebhookEndpointUpdate
    ) -> WebhookEndpoint:
        info.context.principal.require("updateWebhookEndpoint")
        request = pb.UpdateWebhookEndpointRequest(id=str(id))
        for field in ("url", "description", "enabled"):
            value = getattr(input, field)
            if value is not None:
                setattr(request, field, value)
        if input.event_types is not None:
            request.event_types.extend(input.event_types)
            request.replace_event_types = True
        if input.legal_entities is not None:
            request.legal_entities.extend(input.legal_entities)
            request.replace_legal_entities = True
        answer = await call("connect", info.context.clients.connect.UpdateWebhookEndpoint(request))
        return WebhookEndpoint.from_proto(answer.endpoint)

    @strawberry.mutation(description="A new secret, shown once; the old one signs for 24 h more.")
    async def rotate_webhook_secret(self, info: Info, id: strawberry.ID) -> WebhookEndpointCreated:
        info.context.principal.require("rotateWebhookSecret")
        answer = await call(
            "connect",
            info.context.clients.connect.RotateWebhookSecret(
                pb.RotateWebhookSecretRequest(id=str(id))
            ),
        )
        return WebhookEndpointCreated(
            endpoint=WebhookEndpoint.from_proto(answer.endpoint), secret=answer.secret
        )

    @strawberry.mutation(description="Remove an endpoint and its deliveries.")
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> bool:
        info.context.principal.require("deleteWebhookEndpoint")
        answer = await call(
            "connect",
            info.context.clients.connect.DeleteWebhookEndpoint(
                pb.DeleteWebhookEndpointRequest(id=str(id))
            ),
        )
        return bool(answer.deleted)

    @strawberry.mutation(description="Make the FAILED deliveries created since `since` again.")
    async def replay_webhook_deliveries(
        self, info: Info, endpoint_id: strawberry.ID, since: dt.datetime
    ) -> int:
        info.context.principal.require("replayWebhookDeliveries")
        if since.tzinfo is None:
            raise BadUserInput("since needs a time zone (e.g. 2026-01-05T00:00:00Z)")
        request = pb.ReplayWebhookDeliveriesRequest(endpoint_id=str(endpoint_id))
        request.since.FromDatetime(since.astimezone(dt.UTC))
        client = info.context.clients.connect
        answer = await call("connect", client.ReplayWebhookDeliveries(request))
        return int(answer.replayed)

    @strawberry.mutation(description="Turn on (or change) CRM write-back for an inbound source.")
    async def set_crm_write_back(self, info: Info, input: CrmWriteBackInput) -> CrmWriteBack:
        info.context.principal.require("setCrmWriteBack")
        fields: object = input.fields or {}
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise BadUserInput("fields maps our field names to the CRM's property names")
        answer = await call(
            "connect",
            info.context.clients.connect.SetCrmWriteBack(
                pb.SetCrmWriteBackRequest(
                    source=input.source,
                    kind=input.kind.value,
                    base_url=input.base_url or "",
                    token=input.token or "",
                    fields=fields,
                    api_version=input.api_version or "",
                    disabled=not input.enabled,
                )
            ),
        )
        return CrmWriteBack.from_proto(answer.writeback)
