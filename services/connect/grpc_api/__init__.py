"""Thin gRPC servicer: proto -> use case -> proto."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mesh.errors import InvalidArgument
from services.connect import convert
from services.connect.domain.intake import HookAnswer, RawHook
from services.connect.grpc_api.outbound import OutboundApi
from services.connect.grpc_api.receiving import WebhookIntake
from services.connect.handlers import exceptions, sources
from services.connect.handlers.endpoints import EndpointRules
from services.connect.handlers.ports import SecretBox, Transact
from weftwork.connect.v1 import connect_service_pb2 as pb
from weftwork.connect.v1 import connect_service_pb2_grpc as pb_grpc

MAX_HOOKS_PER_CALL = 256


def _hook(request: pb.ReceiveWebhookRequest) -> RawHook:
    return RawHook(
        source=request.source,
        method=request.method or "POST",
        url=request.url,
        headers={h.name.lower(): h.value for h in request.headers},
        body=request.body,
    )


def _answer(answer: HookAnswer) -> pb.ReceiveWebhookResponse:
    return pb.ReceiveWebhookResponse(
        http_status=answer.http_status,
        content_type=answer.content_type,
        body=answer.body,
        accepted=answer.accepted,
        duplicates=answer.duplicates,
    )


class ConnectServicer(OutboundApi, pb_grpc.ConnectServiceServicer):
    def __init__(
        self,
        transact: Transact[Any],
        read: Transact[Any],
        box: SecretBox,
        rules: EndpointRules | None = None,
    ) -> None:
        self.transact = transact
        self.read = read
        self.box = box
        self.rules = rules or EndpointRules(event_types=(), allow_insecure=False)
        self.intake = WebhookIntake(read, transact, box)

    async def ReceiveWebhook(
        self, request: pb.ReceiveWebhookRequest, context: Any
    ) -> pb.ReceiveWebhookResponse:
        answer = await self.intake.receive(_hook(request), now_ms=int(time.time() * 1000))
        return _answer(answer)

    async def ReceiveWebhooks(
        self, request: pb.ReceiveWebhooksRequest, context: Any
    ) -> pb.ReceiveWebhooksResponse:
        """Each request verified side by side; their receipts share the intake's next commit."""
        if len(request.hooks) > MAX_HOOKS_PER_CALL:
            raise InvalidArgument.one("hooks", f"at most {MAX_HOOKS_PER_CALL} per call")
        now_ms = int(time.time() * 1000)
        answers = await asyncio.gather(
            *(self.intake.receive(_hook(h), now_ms=now_ms) for h in request.hooks)
        )
        return pb.ReceiveWebhooksResponse(answers=[_answer(a) for a in answers])

    async def CreateInboundSource(
        self, request: pb.CreateInboundSourceRequest, context: Any
    ) -> pb.CreateInboundSourceResponse:
        draft = sources.SourceDraft(
            name=request.name,
            kind=convert.KINDS_FROM.get(request.kind),
            secret=request.secret,
            org_ids=tuple(request.org_ids),
            mapping_json=request.mapping_json,
            api_token=request.api_token,
            api_base_url=request.api_base_url,
            public_url=request.public_url,
        )
        source, secret = await self.transact(
            lambda repo: sources.create_source(repo, self.box, draft)
        )
        self.intake.forget(request.name)
        return pb.CreateInboundSourceResponse(source=convert.source_to_proto(source), secret=secret)

    async def UpdateInboundSource(
        self, request: pb.UpdateInboundSourceRequest, context: Any
    ) -> pb.UpdateInboundSourceResponse:
        r = request
        changes = sources.SourceChanges(
            mapping_json=r.mapping_json if r.HasField("mapping_json") else None,
            secret=r.secret if r.HasField("secret") else None,
            org_ids=tuple(r.org_ids) if r.replace_org_ids else None,
            api_token=r.api_token if r.HasField("api_token") else None,
            api_base_url=r.api_base_url if r.HasField("api_base_url") else None,
            public_url=r.public_url if r.HasField("public_url") else None,
            enabled=r.enabled if r.HasField("enabled") else None,
        )
        source = await self.transact(
            lambda repo: sources.update_source(repo, self.box, request.name, changes)
        )
        self.intake.forget(request.name)
        return pb.UpdateInboundSourceResponse(source=convert.source_to_proto(source))

    async def ListInboundSources(
        self, request: pb.ListInboundSourcesRequest, context: Any
    ) -> pb.ListInboundSourcesResponse:
        found = await self.read(lambda repo: repo.list_sources())
        return pb.ListInboundSourcesResponse(sources=[convert.source_to_proto(s) for s in found])

    async def ListReceipts(
        self, request: pb.ListReceiptsRequest, context: Any
    ) -> pb.ListReceiptsResponse:
        after = convert.decode_cursor(request.page_token)
        rows, cursor = await self.read(
            lambda repo: exceptions.list_receipts(
                repo, source=request.source or None, after=after, page_size=request.page_size
            )
        )
        return pb.ListReceiptsResponse(
            receipts=[convert.receipt_to_proto(r) for r in rows],
            next_page_token=convert.encode_cursor(cursor),
        )

    async def ListIntegrationExceptions(
        self, request: pb.ListIntegrationExceptionsRequest, context: Any
    ) -> pb.ListIntegrationExceptionsResponse:
        after = convert.decode_cursor(request.page_token)
        status = convert.EXCEPTION_STATUSES_FROM.get(request.status)
        rows, cursor = await self.read(
            lambda repo: exceptions.list_exceptions(
                repo,
                source=request.source or None,
                status=status,
                after=after,
                page_size=request.page_size,
            )
        )
        return pb.ListIntegrationExceptionsResponse(
            exceptions=[convert.exception_to_proto(e) for e in rows],
            next_page_token=convert.encode_cursor(cursor),
        )

    async def RetryIntegrationException(
        self, request: pb.RetryIntegrationExceptionRequest, context: Any
    ) -> pb.RetryIntegrationExceptionResponse:
        exception_id = convert.parse_id(request.id, "id")
        found = await self.transact(lambda repo: exceptions.retry_exception(repo, exception_id))
        return pb.RetryIntegrationExceptionResponse(exception=convert.exception_to_proto(found))

    async def DismissIntegrationException(
        self, request: pb.DismissIntegrationExceptionRequest, context: Any
    ) -> pb.DismissIntegrationExceptionResponse:
        exception_id = convert.parse_id(request.id, "id")
        found = await self.transact(
            lambda repo: exceptions.dismiss_exception(repo, exception_id, request.reason)
        )
        return pb.DismissIntegrationExceptionResponse(exception=convert.exception_to_proto(found))
