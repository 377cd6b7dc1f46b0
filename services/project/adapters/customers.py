"""CustomerService.ResolveCustomer as engagement creation needs it: bounded by the channel's
deadline; an outage is UNAVAILABLE, the account's mistakes are the request's field violations."""

from __future__ import annotations

import uuid

import grpc

from mesh.errors import FieldViolation, InvalidArgument, Unavailable
from mesh.grpc.errors import field_violations
from services.project.domain.model import BillingContact, CustomerSnapshot, PostalAddress
from services.project.domain.opportunity import Account
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.customer.v1 import customer_service_pb2_grpc as customer_grpc

# The customer service's field names -> ours.
_FIELDS = {
    "name": "account.name",
    "country": "account.country",
    "domain": "account.domain",
    "tax_id": "account.tax_id",
    "external_ref.system": "source",
    "external_ref.id": "account.external_id",
}


def _our_field(field: str) -> str:
    if field.startswith(("billing_contact", "billing_address")):
        return f"account.{field}"
    return _FIELDS.get(field, "account")


class CustomerDirectory:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = customer_grpc.CustomerServiceStub(channel)

    async def resolve(self, source: str, account: Account) -> CustomerSnapshot:
        request = customer_pb.ResolveCustomerRequest(
            name=account.name, domain=account.domain, tax_id=account.tax_id, country=account.country
        )
        if (contact := account.billing_contact) is not None:
            request.billing_contact.name, request.billing_contact.email = (
                contact.name,
                contact.email,
            )
        if (address := account.billing_address) is not None:
            request.billing_address.CopyFrom(
                customer_pb.PostalAddress(
                    lines=address.lines,
                    city=address.city,
                    postcode=address.postcode,
                    country=address.country,
                )
            )
        if account.external_id:
            request.external_ref.CopyFrom(
                customer_pb.ExternalRef(system=source, id=account.external_id)
            )
        try:
            answer = await self.stub.ResolveCustomer(request)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(
                    [
                        FieldViolation(_our_field(v.field), v.description)
                        for v in field_violations(error)
                    ]
                    or [FieldViolation("account", error.details() or "rejected")]
                ) from None
            raise Unavailable(
                f"the customer service could not resolve the account ({error.code().name});"
                " nothing was created, retry"
            ) from None
        c = answer.customer
        return CustomerSnapshot(
            customer_id=uuid.UUID(c.id),
            name=c.name,
            country=c.country,
            tax_id=c.tax_id,
            matched_by=customer_pb.MatchRule.Name(answer.matched_by).removeprefix("MATCH_RULE_"),
            contact=BillingContact(c.billing_contact.name, c.billing_contact.email)
            if c.HasField("billing_contact")
            else None,
            address=PostalAddress(
                tuple(c.billing_address.lines),
                c.billing_address.city,
                c.billing_address.postcode,
                c.billing_address.country,
            )
            if c.HasField("billing_address")
            else None,
        )
