"""Domain events of the connect service as the protobuf messages of the CONNECT stream."""

from __future__ import annotations

import uuid

from google.protobuf.message import Message

from services.connect.domain.model import (
    ConnectEvent,
    ExceptionOpened,
    ExceptionResolved,
    ReceiptAccepted,
)
from weftwork.connect.v1 import events_pb2

RECEIPT_ACCEPTED = "weftwork.connect.receipt.accepted.v1"
EXCEPTION_OPENED = "weftwork.connect.exception.opened.v1"
EXCEPTION_RESOLVED = "weftwork.connect.exception.resolved.v1"
DELIVERY_FAILED = "weftwork.connect.delivery.failed.v1"
ENDPOINT_DISABLED = "weftwork.connect.endpoint.disabled.v1"


def accepted_message(
    receipt_id: uuid.UUID, version: int, source: str, event_id: str, external_id: str
) -> events_pb2.ReceiptAccepted:
    return events_pb2.ReceiptAccepted(
        receipt_id=str(receipt_id),
        version=version,
        source=source,
        event_id=event_id,
        external_id=external_id,
    )


def to_message(event: ConnectEvent) -> tuple[str, str, int, Message]:
    """(subject, aggregate id, aggregate version, payload) of one domain event."""
    if isinstance(event, ReceiptAccepted):
        r = event.receipt
        return (
            RECEIPT_ACCEPTED,
            str(r.id),
            r.version,
            accepted_message(r.id, r.version, r.source, r.event_id, r.external_id),
        )
    e = event.exception
    if isinstance(event, ExceptionOpened):
        return (
            EXCEPTION_OPENED,
            str(e.id),
            e.version,
            events_pb2.ExceptionOpened(
                exception_id=str(e.id),
                version=e.version,
                source=e.source,
                receipt_id=str(e.receipt_id),
                external_id=e.external_id,
                reason=e.reason,
            ),
        )
    assert isinstance(event, ExceptionResolved)
    return (
        EXCEPTION_RESOLVED,
        str(e.id),
        e.version,
        events_pb2.ExceptionResolved(
            exception_id=str(e.id),
            version=e.version,
            source=e.source,
            receipt_id=str(e.receipt_id),
            external_id=e.external_id,
            engagement_id=e.engagement_id,
            dismiss_reason=e.dismiss_reason,
        ),
    )
