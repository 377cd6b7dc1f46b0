"""Domain events of the customer service as the protobuf messages of the CUSTOMER stream."""

from __future__ import annotations

from google.protobuf.message import Message

from services.customer import convert
from services.customer.domain.model import (
    Customer,
    CustomerCreated,
    CustomerEvent,
    CustomerMerged,
)
from weftwork.customer.v1 import events_pb2

CREATED = "weftwork.customer.customer.created.v1"
UPDATED = "weftwork.customer.customer.updated.v1"
MERGED = "weftwork.customer.customer.merged.v1"


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
                survivor=convert.customer_to_proto(s),
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
        message_type(
            customer_id=str(c.id), version=c.version, customer=convert.customer_to_proto(c)
        ),
    )
