"""Customer aggregate <-> protobuf messages (responses and CUSTOMER stream events), and
request ids parsed with field-precise errors."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.message import Message

from mesh import requests
from mesh.grpc.convert import timestamp_to_proto
from services.customer.domain.billing import BillingContact, PostalAddress
from services.customer.domain.model import (
    AddressInput,
    BillingInput,
    Customer,
    CustomerCreated,
    CustomerEvent,
    CustomerMerged,
    ExternalRef,
    MatchRule,
)
from weftwork.customer.v1 import customer_service_pb2 as pb
from weftwork.customer.v1 import events_pb2

CREATED = "weftwork.customer.customer.created.v1"
UPDATED = "weftwork.customer.customer.updated.v1"
MERGED = "weftwork.customer.customer.merged.v1"

MATCH_RULES = {
    MatchRule.EXTERNAL_REF: pb.MATCH_RULE_EXTERNAL_REF,
    MatchRule.TAX_ID: pb.MATCH_RULE_TAX_ID,
    MatchRule.DOMAIN: pb.MATCH_RULE_DOMAIN,
    MatchRule.NAME: pb.MATCH_RULE_NAME,
    MatchRule.CREATED: pb.MATCH_RULE_CREATED,
}


def customer_to_proto(customer: Customer) -> pb.Customer:
    return pb.Customer(
        id=str(customer.id),
        name=customer.name,
        domain=customer.domain or "",
        tax_id=customer.tax_id or "",
        country=customer.country,
        external_refs=[pb.ExternalRef(system=r.system, id=r.id) for r in customer.external_refs],
        merged_ids=[str(i) for i in customer.merged_ids],
        version=customer.version,
        create_time=timestamp_to_proto(customer.created_at),
        update_time=timestamp_to_proto(customer.updated_at),
        billing_contact=contact_to_proto(customer.billing_contact),
        billing_address=address_to_proto(customer.billing_address),
    )


def contact_to_proto(contact: BillingContact | None) -> pb.BillingContact | None:
    return pb.BillingContact(name=contact.name, email=contact.email) if contact else None


def address_to_proto(address: PostalAddress | None) -> pb.PostalAddress | None:
    if address is None:
        return None
    return pb.PostalAddress(
        lines=address.lines, city=address.city, postcode=address.postcode, country=address.country
    )


def contact_input(message: Any, field: str = "billing_contact") -> BillingInput | None:
    """The contact as sent, or None when the request does not set it."""
    if not message.HasField(field):
        return None
    contact = getattr(message, field)
    return (contact.name, contact.email)


def address_input(message: Any, field: str = "billing_address") -> AddressInput | None:
    if not message.HasField(field):
        return None
    a = getattr(message, field)
    return (list(a.lines), a.city, a.postcode, a.country)


def parse_id(value: str, field: str) -> uuid.UUID:
    return requests.parse_id(value, field, kind="a customer id")


def parse_ids(values: list[str], field: str) -> list[uuid.UUID]:
    return requests.parse_ids(values, field, kind="a customer id")


def ref_from_proto(message: pb.ExternalRef) -> ExternalRef:
    return ExternalRef(message.system, message.id)


def to_message(event: CustomerEvent) -> tuple[str, Customer, Message]:
    """(subject, aggregate, payload) of one domain event."""
    if isinstance(event, CustomerMerged):
        s = event.survivor
        return (
            MERGED,
            s,
            events_pb2.CustomerMerged(
                survivor_id=str(s.id),
                version=s.version,
                merged_id=str(event.merged_id),
                survivor=customer_to_proto(s),
            ),
        )
    c = event.customer
    subject, message_type = (
        (CREATED, events_pb2.CustomerCreated)
        if isinstance(event, CustomerCreated)
        else (UPDATED, events_pb2.CustomerUpdated)
    )
    return (
        subject,
        c,
        message_type(customer_id=str(c.id), version=c.version, customer=customer_to_proto(c)),
    )
