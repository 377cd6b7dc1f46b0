"""customer(id) and customers(first, after, search)."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from gateway.context import Info
from gateway.customers.types import Customer
from gateway.errors import call
from gateway.pagination import Connection, paginate
from weftwork.customer.v1 import customer_service_pb2 as pb


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="A customer by id; a merged id returns its survivor.")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        # Customers are master data: every signed-in role reads them (gateway/gate.py signs in).
        found = await info.context.loaders.customers.load(str(id))
        return Customer.from_proto(found) if found else None

    @strawberry.field(
        description="Surviving customers by name; `search` matches name, domain or tax id."
    )
    async def customers(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Customer]:
        client = info.context.clients.customer

        async def fetch(size: int, token: str) -> tuple[Sequence[Customer], str]:
            page = await call(
                "customer",
                client.ListCustomers(
                    pb.ListCustomersRequest(page_size=size, page_token=token, search=search or "")
                ),
            )
            return [Customer.from_proto(c) for c in page.customers], page.next_page_token

        return await paginate(fetch, first=first, after=after)
