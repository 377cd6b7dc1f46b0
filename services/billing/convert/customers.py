"""The CUSTOMER stream as billing reads it: who an invoice is billed to (its bill-to)."""

from __future__ import annotations

import uuid

from services.billing.domain.model import BillingContact, BillTo, PostalAddress
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.customer.v1 import events_pb2 as customer_events


def bill_to_contact(c: customer_pb.BillingContact) -> BillingContact:
    return BillingContact(c.name, c.email)


def bill_to_address(a: customer_pb.PostalAddress) -> PostalAddress:
    return PostalAddress(tuple(a.lines), a.city, a.postcode, a.country)


def customer_of(customer: customer_pb.Customer) -> BillTo:
    c = customer
    return BillTo(
        uuid.UUID(c.id),
        c.name,
        c.country,
        c.tax_id or None,
        c.version,
        bill_to_contact(c.billing_contact) if c.HasField("billing_contact") else None,
        bill_to_address(c.billing_address) if c.HasField("billing_address") else None,
    )


def changed_customer(
    message: customer_events.CustomerCreated | customer_events.CustomerUpdated,
) -> BillTo:
    return customer_of(message.customer)


def merged_customer(message: customer_events.CustomerMerged) -> tuple[uuid.UUID, BillTo]:
    return uuid.UUID(message.merged_id), customer_of(message.survivor)
