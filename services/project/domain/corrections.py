"""Corrections of approved time (DESIGN.md §9, adjustTime): history is never edited; an
approved reversal and an approved replacement, at the original's rates, say what changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

from mesh.errors import FailedPrecondition, InvalidArgument
from mesh.money import Money
from services.project.domain.model import BillingModel, Engagement, now
from services.project.domain.time import Rating, TimeEntry, TimeEntryStatus

MAX_DAY = Decimal(24)


@dataclass(frozen=True)
class TimeAdjusted:
    """One correction, and the engagement version and approved hours it produced."""

    engagement_id: uuid.UUID
    version: int
    billing_model: BillingModel
    approved_hours: Decimal
    budget_hours: Decimal
    original: TimeEntry
    reversal: TimeEntry
    replacement: TimeEntry
    reason: str


def check_adjustable(entry: TimeEntry, reversed_by: uuid.UUID | None) -> None:
    if entry.status is not TimeEntryStatus.APPROVED:
        raise FailedPrecondition(
            f"time entry {entry.id} is {entry.status.value}: only APPROVED time is corrected"
            " (a SUBMITTED entry is edited by resubmitting it); nothing was changed"
        )
    if entry.hours < 0:
        raise FailedPrecondition(f"time entry {entry.id} is a reversal; nothing was changed")
    if reversed_by is not None:
        raise FailedPrecondition(
            f"time entry {entry.id} was already corrected; adjust its replacement"
            f" {reversed_by} instead; nothing was changed"
        )


def adjust(
    entry: TimeEntry, engagement: Engagement, hours: Decimal, reason: str, day_others: Decimal
) -> TimeAdjusted | None:
    """The reversal and replacement of `entry`, None when the hours are the same (a no-op).
    `day_others`: the person's other live hours that day (the 24 h rule still holds)."""
    if hours == entry.hours:
        return None
    engagement.require_active("time corrections")
    if day_others + hours > MAX_DAY:
        raise InvalidArgument.one(
            "hours", f"{entry.person_id} would record {day_others + hours} h on {entry.date}"
        )
    assert entry.rating is not None, "approved entries are rated"
    rates, currency, at = entry.rating, engagement.currency, now()

    def corrected(h: Decimal, bill: Money, cost: Money, description: str) -> TimeEntry:
        return replace(
            entry,
            id=uuid.uuid4(),
            hours=h,
            description=description,
            external_id=None,
            rating=Rating(rates.bill_rate, rates.cost_rate, bill, cost),
            submitted_at=at,
            decided_at=at,
            corrects=entry.id,
            correction_reason=reason,
        )

    reversal = corrected(
        -entry.hours, -rates.bill_amount, -rates.cost_amount, f"Reversal: {reason}"[:500]
    )
    replacement = corrected(
        hours,
        Money.of(hours * rates.bill_rate, currency),
        Money.of(hours * rates.cost_rate, currency),
        entry.description,
    )
    engagement.approved_hours += hours - entry.hours
    engagement.touch()
    return TimeAdjusted(
        engagement.id,
        engagement.version,
        engagement.billing_model,
        engagement.approved_hours,
        engagement.budget_hours,
        entry,
        reversal,
        replacement,
        reason,
    )
