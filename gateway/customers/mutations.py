"""mergeCustomers (finance's fix for one account that arrived twice) and updateCustomer (the
facts and billing details sales and finance keep current)."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.customers.types import (
    BillingContactInput,
    Customer,
    PostalAddressInput,
    address_request,
    contact_request,
)
from gateway.errors import Forbidden, call
from weftwork.customer.v1 import customer_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2 as project_pb


async def _within(info: Info, customer_id: str, entities: frozenset[str]) -> bool:
    """Whether the customer does business only with these legal entities: it has engagements,
    and every one of them is in one of the entities (customers belong to no entity themselves,
    their engagements do)."""
    token, seen = "", False
    while True:
        page = await call(
            "project",
            info.context.clients.project.ListEngagements(
                project_pb.ListEngagementsRequest(
                    customer_id=customer_id, page_size=100, page_token=token
                )
            ),
        )
        if any(e.legal_entity not in entities for e in page.engagements):
            return False
        seen = seen or bool(page.engagements)
        token = page.next_page_token
        if not token:
            return seen


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(
        description="Merge `mergedId` into `survivorId`; the merged id stays an alias. A caller "
        "scoped to some legal entities may merge only customers whose engagements are all in "
        "them."
    )
    async def merge_customers(
        self, info: Info, survivor_id: strawberry.ID, merged_id: strawberry.ID
    ) -> Customer:
        principal = info.context.principal
        principal.require("mergeCustomers")
        if principal.entities is not None:
            for customer_id in (str(survivor_id), str(merged_id)):
                if not await _within(info, customer_id, principal.entities):
                    raise Forbidden(
                        "mergeCustomers: both customers must do business only with your legal "
                        "entities"
                    )
        answer = await call(
            "customer",
            info.context.clients.customer.MergeCustomers(
                pb.MergeCustomersRequest(survivor_id=str(survivor_id), merged_id=str(merged_id))
            ),
        )
        return Customer.from_proto(answer.customer)

    @strawberry.mutation(
        description="Changes what is given (sales, finance, admin): a contact of empty name and "
        "email, or an address of empty parts, clears it. A caller scoped to some legal entities "
        "may change only customers whose engagements are all in them."
    )
    async def update_customer(
        self, info: Info, id: strawberry.ID, input: CustomerUpdateInput
    ) -> Customer:
        principal = info.context.principal
        principal.require("updateCustomer")
        if principal.entities is not None and not await _within(info, str(id), principal.entities):
            raise Forbidden(
                "updateCustomer: the customer must do business only with your legal entities"
            )
        request = pb.UpdateCustomerRequest(
            customer_id=str(id),
            name=input.name,
            domain=input.domain,
            tax_id=input.tax_id,
            country=input.country,
            billing_contact=contact_request(input.billing_contact),
            billing_address=address_request(input.billing_address),
        )
        answer = await call("customer", info.context.clients.customer.UpdateCustomer(request))
        return Customer.from_proto(answer.customer)


@strawberry.input(description="Only the fields that are given change.")
class CustomerUpdateInput:
    name: str | None = None
    domain: str | None = None
    tax_id: str | None = None
    country: str | None = None
    billing_contact: BillingContactInput | None = None
    billing_address: PostalAddressInput | None = None
