"""Thin gRPC servicer: proto -> use case (in one transaction) -> proto."""

from __future__ import annotations

import uuid
from typing import Any

from mesh.paging import decode_token, encode_token
from services.customer import convert, handlers
from services.customer.domain.model import AccountFacts
from weftwork.customer.v1 import customer_service_pb2 as pb
from weftwork.customer.v1 import customer_service_pb2_grpc as pb_grpc


class CustomerServicer(pb_grpc.CustomerServiceServicer):
    def __init__(self, transact: handlers.Transact[Any], read: handlers.Transact[Any]) -> None:
        self.transact = transact
        self.read = read  # no transaction: at READ COMMITTED it would add nothing

    async def ResolveCustomer(
        self, request: pb.ResolveCustomerRequest, context: Any
    ) -> pb.ResolveCustomerResponse:
        facts = AccountFacts.parse(
            name=request.name,
            country=request.country,
            domain=request.domain,
            tax_id=request.tax_id,
            ref=convert.ref_from_proto(request.external_ref)
            if request.HasField("external_ref")
            else None,
            contact=convert.contact_input(request),
            address=convert.address_input(request),
        )
        found: handlers.Resolution = await self.transact(
            lambda repo: handlers.resolve_customer(repo, facts)
        )
        return pb.ResolveCustomerResponse(
            customer=convert.customer_to_proto(found.customer),
            matched_by=convert.MATCH_RULES[found.matched_by],
            created=found.created,
        )

    async def GetCustomer(
        self, request: pb.GetCustomerRequest, context: Any
    ) -> pb.GetCustomerResponse:
        customer_id = convert.parse_id(request.id, "id")
        customer = await self.read(lambda repo: handlers.get_customer(repo, customer_id))
        return pb.GetCustomerResponse(customer=convert.customer_to_proto(customer))

    async def BatchGetCustomers(
        self, request: pb.BatchGetCustomersRequest, context: Any
    ) -> pb.BatchGetCustomersResponse:
        ids = convert.parse_ids(list(request.ids), "ids")
        found, missing = await self.read(lambda repo: handlers.batch_get_customers(repo, ids))
        return pb.BatchGetCustomersResponse(
            customers=[convert.customer_to_proto(found[i]) for i in ids if i in found],
            missing_ids=[str(i) for i in missing],
        )

    async def ListCustomers(
        self, request: pb.ListCustomersRequest, context: Any
    ) -> pb.ListCustomersResponse:
        after = decode_token("customers", request.page_token, (str, uuid.UUID))
        rows, cursor = await self.transact(
            lambda repo: handlers.list_customers(
                repo, page_size=request.page_size, after=after, search=request.search
            )
        )
        return pb.ListCustomersResponse(
            customers=[convert.customer_to_proto(c) for c in rows],
            next_page_token=encode_token("customers", cursor),
        )

    async def UpdateCustomer(
        self, request: pb.UpdateCustomerRequest, context: Any
    ) -> pb.UpdateCustomerResponse:
        customer_id = convert.parse_id(request.customer_id, "customer_id")
        changes = handlers.CustomerChanges(
            **{
                f: getattr(request, f)
                for f in ("name", "domain", "tax_id", "country")
                if request.HasField(f)
            },
            billing_contact=convert.contact_input(request),
            billing_address=convert.address_input(request),
        )
        customer = await self.transact(
            lambda repo: handlers.update_customer(repo, customer_id, changes)
        )
        return pb.UpdateCustomerResponse(customer=convert.customer_to_proto(customer))

    async def LinkExternalRef(
        self, request: pb.LinkExternalRefRequest, context: Any
    ) -> pb.LinkExternalRefResponse:
        customer_id = convert.parse_id(request.customer_id, "customer_id")
        ref = convert.ref_from_proto(request.external_ref)
        customer = await self.transact(
            lambda repo: handlers.link_external_ref(repo, customer_id, ref)
        )
        return pb.LinkExternalRefResponse(customer=convert.customer_to_proto(customer))

    async def MergeCustomers(
        self, request: pb.MergeCustomersRequest, context: Any
    ) -> pb.MergeCustomersResponse:
        survivor_id = convert.parse_id(request.survivor_id, "survivor_id")
        merged_id = convert.parse_id(request.merged_id, "merged_id")
        survivor = await self.transact(
            lambda repo: handlers.merge_customers(repo, survivor_id, merged_id)
        )
        return pb.MergeCustomersResponse(customer=convert.customer_to_proto(survivor))
