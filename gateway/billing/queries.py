"""invoice and invoices, scoped to the caller's legal entities."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from gateway.billing.types import InvoiceStatus
from gateway.context import Info
from gateway.engagements.view import Invoice
from gateway.errors import call
from gateway.pagination import Connection, paginate
from gateway.scope import list_scope
from weftwork.billing.v1 import billing_service_pb2 as pb


@strawberry.type
class BillingQueries:
    @strawberry.field
    async def invoice(self, info: Info, id: strawberry.ID) -> Invoice | None:
        found = await info.context.loaders.invoices.load(str(id))
        if found is None or not info.context.principal.sees(found.legal_entity):
            return None
        return Invoice.from_proto(found)

    @strawberry.field
    async def invoices(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: InvoiceStatus | None = None,
        legal_entity: str | None = None,
        engagement_id: strawberry.ID | None = None,
    ) -> Connection[Invoice]:
        entities = list_scope(info.context.principal, legal_entity)
        client = info.context.clients.billing

        async def fetch(size: int, token: str) -> tuple[Sequence[Invoice], str]:
            page = await call(
                "billing",
                client.ListInvoices(
                    pb.ListInvoicesRequest(
                        page_size=size,
                        page_token=token,
                        status=status.value if status else pb.INVOICE_STATUS_UNSPECIFIED,
                        legal_entities=entities,
                        engagement_id=str(engagement_id or ""),
                    )
                ),
            )
            return [Invoice.from_proto(i) for i in page.invoices], page.next_page_token

        return await paginate(fetch, first=first, after=after)
