"""inboundSources, receipts and integrationExceptions: finance and admin read (DESIGN.md §7)."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from gateway.connect.types import ExceptionStatus, InboundSource, IntegrationException, Receipt
from gateway.context import Info
from gateway.errors import Forbidden, call
from gateway.pagination import Connection, paginate
from weftwork.connect.v1 import connect_service_pb2 as pb

READERS = frozenset({"finance", "admin"})


def require_reader(info: Info, what: str) -> None:
    if not info.context.principal.roles & READERS:
        raise Forbidden(f"{what} needs one of the roles {', '.join(sorted(READERS))}")


@strawberry.type
class ConnectQueries:
    @strawberry.field(description="Every inbound source (secrets are never shown).")
    async def inbound_sources(self, info: Info) -> list[InboundSource]:
        require_reader(info, "inboundSources")
        answer = await call(
            "connect",
            info.context.clients.connect.ListInboundSources(pb.ListInboundSourcesRequest()),
        )
        return [InboundSource.from_proto(s) for s in answer.sources]

    @strawberry.field(description="Webhook events as stored, newest first.")
    async def receipts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        source: str | None = None,
    ) -> Connection[Receipt]:
        require_reader(info, "receipts")
        client = info.context.clients.connect

        async def fetch(size: int, token: str) -> tuple[Sequence[Receipt], str]:
            page = await call(
                "connect",
                client.ListReceipts(
                    pb.ListReceiptsRequest(page_size=size, page_token=token, source=source or "")
                ),
            )
            return [Receipt.from_proto(r) for r in page.receipts], page.next_page_token

        return await paginate(fetch, first=first, after=after)

    @strawberry.field(description="Receipts that could not become an engagement, newest first.")
    async def integration_exceptions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: ExceptionStatus | None = None,
        source: str | None = None,
    ) -> Connection[IntegrationException]:
        require_reader(info, "integrationExceptions")
        client = info.context.clients.connect

        async def fetch(size: int, token: str) -> tuple[Sequence[IntegrationException], str]:
            page = await call(
                "connect",
                client.ListIntegrationExceptions(
                    pb.ListIntegrationExceptionsRequest(
                        page_size=size,
                        page_token=token,
                        status=status.value if status else pb.EXCEPTION_STATUS_UNSPECIFIED,
                        source=source or "",
                    )
                ),
            )
            found = [IntegrationException.from_proto(e) for e in page.exceptions]
            return found, page.next_page_token

        return await paginate(fetch, first=first, after=after)
