"""time_entry.adjusted as revenue reads it: the reversal (negative hours) and the replacement
are two more rated entries of the engagement, each applied once by its own key."""

from __future__ import annotations

import uuid
from decimal import Decimal

from mesh import requests
from mesh.errors import Violations
from services.revenue.domain import facts
from services.revenue.domain.facts import Fact, RatedTime
from weftwork.project.v1 import events_pb2 as project


def _rated(e: project.RatedTimeEntry, field: str, errors: Violations, *, sign: int) -> RatedTime:
    def number(text: str, name: str) -> Decimal:
        found = requests.quantity(text, f"{field}.{name}", errors)
        return found if found is not None else Decimal(0)

    hours = number(e.hours, "hours")
    if hours * sign <= 0:
        errors.add(f"{field}.hours", "must be negative" if sign < 0 else "must be positive")
    bill_rate, cost_rate = number(e.bill_rate, "bill_rate"), number(e.cost_rate, "cost_rate")
    if min(bill_rate, cost_rate) < 0:
        errors.add(f"{field}.bill_rate", "rates must not be negative")
    if not e.time_entry_id:
        errors.add(f"{field}.time_entry_id", "is required")
    day = requests.parse_date(e.date, f"{field}.date")
    return RatedTime(e.time_entry_id, day, hours, bill_rate, cost_rate, e.billable)


def adjusted(m: project.TimeEntryAdjusted, event_id: uuid.UUID) -> Fact:
    errors = Violations()
    entries = (
        _rated(m.reversal, "reversal", errors, sign=-1),
        _rated(m.replacement, "replacement", errors, sign=1),
    )
    engagement_id = requests.parse_id(m.engagement_id, "engagement_id")
    errors.raise_if_any()
    return facts.TimeApproved(engagement_id, event_id, entries)
