"""Revenue's domain events as the protobuf messages of the REVENUE stream."""

from __future__ import annotations

from mesh.events.outbox import OutgoingEvent
from mesh.grpc.convert import date_to_proto, money_to_proto, timestamp_to_proto
from services.revenue import convert
from services.revenue.domain.contract import Posted
from services.revenue.domain.periods import PeriodState
from weftwork.revenue.v1 import events_pb2

RECOGNIZED = "weftwork.revenue.revenue.recognized.v1"
PERIOD_CLOSED = "weftwork.revenue.period.closed.v1"


def to_outgoing(event: Posted | PeriodState) -> OutgoingEvent:
    if isinstance(event, PeriodState):
        assert event.closed_at is not None, "only a closed period is an event"
        return OutgoingEvent(
            PERIOD_CLOSED,
            f"{event.legal_entity}/{event.period}",
            event.version,
            events_pb2.PeriodClosed(
                legal_entity=event.legal_entity,
                period=str(event.period),
                version=event.version,
                close_time=timestamp_to_proto(event.closed_at),
            ),
        )
    entry = event.entry
    assert entry.basis is not None, "only a recognition entry is revenue.recognized"
    return OutgoingEvent(
        RECOGNIZED,
        str(entry.engagement_id),
        event.version,
        events_pb2.RevenueRecognized(
            engagement_id=str(entry.engagement_id),
            version=event.version,
            journal_entry_id=str(entry.id),
            legal_entity=entry.legal_entity,
            basis=convert.BASES[entry.basis],
            amount=money_to_proto(entry.recognized),
            service_date=date_to_proto(entry.service_date),
            posting_date=date_to_proto(entry.posting_date),
            source_ids=list(entry.source_ids),
            position=convert.position_to_proto(event.position),
        ),
    )
