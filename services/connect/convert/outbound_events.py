"""Connect's outbound events as the protobuf messages of the CONNECT stream."""

from __future__ import annotations

from google.protobuf.message import Message

from services.connect.domain.outbound_events import DeliveryFailed, OutboundEvent
from weftwork.connect.v1 import events_pb2

DELIVERY_FAILED = "weftwork.connect.delivery.failed.v1"
ENDPOINT_DISABLED = "weftwork.connect.endpoint.disabled.v1"


def to_message(event: OutboundEvent) -> tuple[str, str, int, Message]:
    """(subject, aggregate id, aggregate version, payload) of one outbound event."""
    if isinstance(event, DeliveryFailed):
        d = event.delivery
        return (
            DELIVERY_FAILED,
            str(d.id),
            d.version,
            events_pb2.DeliveryFailed(
                delivery_id=str(d.id),
                version=d.version,
                endpoint_id=str(d.target_id),
                event_id=str(d.event_id),
                event_type=d.event_type,
                error=d.last_error or f"HTTP {d.last_status}",
            ),
        )
    e = event.endpoint
    return (
        ENDPOINT_DISABLED,
        str(e.id),
        e.version,
        events_pb2.EndpointDisabled(
            endpoint_id=str(e.id), version=e.version, url=e.url, reason=e.disabled_reason
        ),
    )
