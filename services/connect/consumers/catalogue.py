"""The events of the PROJECT, BILLING, REVENUE and CUSTOMER streams that connect passes on:
their message types, and what each one changes in an engagement's written-back status."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.type import money_pb2

from mesh.events.handlers import Event
from services.connect.domain.writeback import EngagementStatus, apply_activation, apply_recognition
from services.connect.handlers.fanout import PassedEvent
from weftwork.billing.v1 import events_pb2 as billing
from weftwork.customer.v1 import events_pb2 as customer
from weftwork.project.v1 import events_pb2 as project
from weftwork.project.v1 import project_service_pb2 as project_pb
from weftwork.revenue.v1 import events_pb2 as revenue

EVENT_TYPES: Mapping[str, type[Message]] = {
    "weftwork.customer.customer.created.v1": customer.CustomerCreated,
    "weftwork.customer.customer.updated.v1": customer.CustomerUpdated,
    "weftwork.customer.customer.merged.v1": customer.CustomerMerged,
    "weftwork.project.engagement.activated.v1": project.EngagementActivated,
    "weftwork.project.engagement.completed.v1": project.EngagementCompleted,
    "weftwork.project.milestone.completed.v1": project.MilestoneCompleted,
    "weftwork.project.time_entry.approved.v1": project.TimeEntriesApproved,
    "weftwork.project.expense.approved.v1": project.ExpenseApproved,
    "weftwork.billing.invoice.issued.v1": billing.InvoiceIssued,
    "weftwork.billing.invoice.voided.v1": billing.InvoiceVoided,
    "weftwork.billing.payment.recorded.v1": billing.PaymentRecorded,
    "weftwork.revenue.revenue.recognized.v1": revenue.RevenueRecognized,
    "weftwork.revenue.period.closed.v1": revenue.PeriodClosed,
}


def _text(message: Message, name: str) -> str:
    """A string field the message may not have (the catalogue's messages differ)."""
    return str(getattr(message, name)) if name in message.DESCRIPTOR.fields_by_name else ""


def engagement_of(message: Message) -> str:
    return _text(message, "engagement_id")


def legal_entity_of(message: Message) -> str:
    if isinstance(message, project.EngagementActivated):
        return message.engagement.legal_entity
    return _text(message, "legal_entity")


def as_json(message: Message) -> dict[str, object]:
    """The event as proto3 JSON (lowerCamelCase names, int64 as strings, enums by name)."""
    return json_format.MessageToDict(message)


def _amount(money: money_pb2.Money) -> Decimal:
    return Decimal(money.units) + Decimal(money.nanos) / Decimal(1_000_000_000)


def _activated(s: EngagementStatus, m: Message) -> bool:
    assert isinstance(m, project.EngagementActivated)
    e = m.engagement
    apply_activation(
        s,
        code=e.code,
        status=project_pb.EngagementStatus.Name(e.status).removeprefix("ENGAGEMENT_STATUS_")
        if e.status
        else "ACTIVE",
        legal_entity=e.legal_entity,
        currency=e.currency,
        crm_system=e.opportunity.system,
        crm_record_id=e.opportunity.external_id,
    )
    return True


def _completed(s: EngagementStatus, m: Message) -> bool:
    s.status = "COMPLETED"
    return True


def _issued(s: EngagementStatus, m: Message) -> bool:
    assert isinstance(m, billing.InvoiceIssued)
    s.invoiced += _amount(m.total)
    s.currency = s.currency or m.currency
    return True


def _voided(s: EngagementStatus, m: Message) -> bool:
    assert isinstance(m, billing.InvoiceVoided)
    s.invoiced -= _amount(m.total)
    return True


def _paid(s: EngagementStatus, m: Message) -> bool:
    assert isinstance(m, billing.PaymentRecorded)
    s.paid += _amount(m.amount)
    return True


def _recognized(s: EngagementStatus, m: Message) -> bool:
    assert isinstance(m, revenue.RevenueRecognized)
    return apply_recognition(s, _amount(m.position.recognized), m.version)


# Applied once per event (the inbox sees to that); True when the CRM should hear of it.
STATUS_CHANGES: Mapping[str, Callable[[EngagementStatus, Message], bool]] = {
    "weftwork.project.engagement.activated.v1": _activated,
    "weftwork.project.engagement.completed.v1": _completed,
    "weftwork.billing.invoice.issued.v1": _issued,
    "weftwork.billing.invoice.voided.v1": _voided,
    "weftwork.billing.payment.recorded.v1": _paid,
    "weftwork.revenue.revenue.recognized.v1": _recognized,
}


def passed_event(event: Event[Any]) -> PassedEvent:
    message = event.message
    change = STATUS_CHANGES.get(event.type)
    return PassedEvent(
        id=event.id,
        type=event.type,
        time=event.time,
        subject=event.aggregate_id,
        engagement_id=engagement_of(message),
        legal_entity=legal_entity_of(message),
        data=as_json(message),
        change=functools.partial(_change, change, message) if change else None,
        stream=event.source.rpartition("/")[2] if event.stream_seq else "",
        stream_seq=event.stream_seq,
    )


def _change(
    change: Callable[[EngagementStatus, Message], bool],
    message: Message,
    status: EngagementStatus,
) -> bool:
    return change(status, message)
