"""GraphQL types of the customer domain, read straight from the protobuf messages."""

from __future__ import annotations

import strawberry

from weftwork.customer.v1 import customer_service_pb2 as pb


@strawberry.type
class ExternalRef:
    system: str
    id: str


@strawberry.type(description="The person a customer's invoices are addressed to.")
class BillingContact:
    name: str
    email: str


@strawberry.type(description="A postal address as an invoice prints it.")
class PostalAddress:
    lines: list[str]
    city: str
    postcode: str | None
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")


@strawberry.input
class BillingContactInput:
    name: str = ""
    email: str = strawberry.field(description="Where invoices are sent, e.g. ap@example.com.")


@strawberry.input
class PostalAddressInput:
    lines: list[str] = strawberry.field(description="1 to 4 street lines.")
    city: str
    postcode: str | None = None
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")


def contact_request(i: BillingContactInput | None) -> pb.BillingContact | None:
    return pb.BillingContact(name=i.name, email=i.email) if i is not None else None


def address_request(i: PostalAddressInput | None) -> pb.PostalAddress | None:
    if i is None:
        return None
    return pb.PostalAddress(
        lines=i.lines, city=i.city, postcode=i.postcode or "", country=i.country
    )


@strawberry.type
class Customer:
    id: strawberry.ID
    name: str
    domain: str | None
    tax_id: str | None
    country: str
    external_refs: list[ExternalRef]
    merged_ids: list[strawberry.ID]
    version: int
    billing_contact: BillingContact | None
    billing_address: PostalAddress | None

    @classmethod
    def from_proto(cls, message: pb.Customer) -> Customer:
        return cls(
            id=strawberry.ID(message.id),
            name=message.name,
            domain=message.domain or None,
            tax_id=message.tax_id or None,
            country=message.country,
            external_refs=[ExternalRef(system=r.system, id=r.id) for r in message.external_refs],
            merged_ids=[strawberry.ID(i) for i in message.merged_ids],
            version=message.version,
            billing_contact=_contact(message),
            billing_address=_address(message),
        )


def _contact(message: pb.Customer) -> BillingContact | None:
    if not message.HasField("billing_contact"):
        return None
    return BillingContact(name=message.billing_contact.name, email=message.billing_contact.email)


def _address(message: pb.Customer) -> PostalAddress | None:
    if not message.HasField("billing_address"):
        return None
    a = message.billing_address
    return PostalAddress(
        lines=list(a.lines), city=a.city, postcode=a.postcode or None, country=a.country
    )
