"""Events, both ways: revenue's domain events -> the REVENUE stream's messages, and the table
of PROJECT and BILLING messages revenue reads into facts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError, Message

from mesh.events.outbox import OutgoingEvent
from mesh.grpc.convert import date_to_proto, money_to_proto, timestamp_to_proto
from services.revenue.convert import corrections, facts
from services.revenue.convert.responses import BASES, position_to_proto
from services.revenue.domain.contract import Posted
from services.revenue.domain.facts import Fact
from services.revenue.domain.periods import PeriodState
from weftwork.billing.v1 import events_pb2 as billing
from weftwork.project.v1 import events_pb2 as project
from weftwork.revenue.v1 import events_pb2

ACTIVATED = "weftwork.project.engagement.activated.v1"
AMENDED = "weftwork.project.engagement.amended.v1"

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
            basis=BASES[entry.basis],
            amount=money_to_proto(entry.recognized),
            service_date=date_to_proto(entry.service_date),
            posting_date=date_to_proto(entry.posting_date),
            source_ids=list(entry.source_ids),
            position=position_to_proto(event.position),
        ),
    )


# Subject -> (payload type, reader) of every fact revenue applies.
FACTS: dict[str, tuple[type[Message], Callable[[Any, uuid.UUID], Fact]]] = {
    "weftwork.project.time_entry.approved.v1": (project.TimeEntriesApproved, facts.time),
    "weftwork.project.time_entry.adjusted.v1": (project.TimeEntryAdjusted, corrections.adjusted),
    "weftwork.project.expense.approved.v1": (project.ExpenseApproved, facts.expense),
    "weftwork.project.milestone.completed.v1": (project.MilestoneCompleted, facts.milestone),
    "weftwork.project.engagement.completed.v1": (project.EngagementCompleted, facts.completed),
    "weftwork.billing.invoice.issued.v1": (billing.InvoiceIssued, facts.issued),
    "weftwork.billing.invoice.voided.v1": (billing.InvoiceVoided, facts.voided),
    "weftwork.billing.payment.recorded.v1": (billing.PaymentRecorded, facts.payment),
}


# Subject -> payload type of everything revenue consumes.
MESSAGE_TYPES: dict[str, type[Message]] = {
    ACTIVATED: project.EngagementActivated,
    AMENDED: project.EngagementAmended,
    **{subject: message_type for subject, (message_type, _) in FACTS.items()},
}


def engagement_of(subject: str, payload: bytes) -> uuid.UUID | None:
    """The engagement an event is for, read before it is applied; None if the event cannot be
    read (applying it will say why)."""
    message_type = MESSAGE_TYPES.get(subject)
    if message_type is None:
        return None
    try:
        return uuid.UUID(getattr(message_type.FromString(payload), "engagement_id", ""))
    except (DecodeError, ValueError):
        return None


def fact_from_payload(subject: str, payload: bytes, event_id: uuid.UUID) -> Fact:
    """A parked event's fact, from the bytes it was parked with."""
    message_type, read = FACTS[subject]
    return read(message_type.FromString(payload), event_id)
