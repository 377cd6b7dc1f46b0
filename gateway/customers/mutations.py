"""mergeCustomers: finance's fix for one account that arrived twice."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.customers.types import Customer
from gateway.errors import call
from weftwork.customer.v1 import customer_service_pb2 as pb


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(
        description="Merge `mergedId` into `survivorId`; the merged id stays an alias."
    )
    async def merge_customers(
        self, info: Info, survivor_id: strawberry.ID, merged_id: strawberry.ID
    ) -> Customer:
        info.context.principal.require("mergeCustomers")
        answer = await call(
            "customer",
            info.context.clients.customer.MergeCustomers(
                pb.MergeCustomersRequest(survivor_id=str(survivor_id), merged_id=str(merged_id))
            ),
        )
        return Customer.from_proto(answer.customer)
