"""Time entries: the rated, decided record of hours worked, and rating on approval."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.errors import FailedPrecondition
from mesh.money import Money
from services.project.domain.model import BillingModel, Engagement, now

PersonDay = tuple[str, dt.date]


class TimeEntryStatus(enum.Enum):
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Rating:
    """Rates snapshotted from the rate card on approval, and hours x rate, rounded once."""

    bill_rate: Decimal
    cost_rate: Decimal
    bill_amount: Money
    cost_amount: Money


@dataclass
class TimeEntry:
    id: uuid.UUID
    engagement_id: uuid.UUID
    person_id: str
    role: str
    date: dt.date
    hours: Decimal
    billable: bool
    description: str
    external_id: str | None
    status: TimeEntryStatus = TimeEntryStatus.SUBMITTED
    rating: Rating | None = None
    rejection_reason: str | None = None
    submitted_at: dt.datetime = field(default_factory=now)
    decided_at: dt.datetime | None = None
    corrects: uuid.UUID | None = None  # a reversal's or replacement's corrected entry
    correction_reason: str | None = None

    @property
    def person_day(self) -> PersonDay:
        return (self.person_id, self.date)

    @property
    def external_key(self) -> tuple[uuid.UUID, str] | None:
        """(engagement, the PSA's id): what makes a resubmission the same entry."""
        return (self.engagement_id, self.external_id) if self.external_id else None

    @property
    def content(self) -> tuple[object, ...]:
        """What a submission says about the work (the PSA may correct it until a decision)."""
        return (self.person_id, self.role, self.date, self.hours, self.billable, self.description)


@dataclass(frozen=True)
class TimeApproved:
    """One ApproveTime call's entries of one engagement, and the version it produced."""

    engagement_id: uuid.UUID
    version: int
    billing_model: BillingModel
    approved_hours: Decimal
    budget_hours: Decimal
    entries: list[TimeEntry]


def check_decidable(entries: Sequence[TimeEntry], blocked: TimeEntryStatus, verb: str) -> None:
    """All or nothing: one entry in the blocking state fails the whole call."""
    stuck = [e for e in entries if e.status is blocked]
    if stuck:
        ids = ", ".join(str(e.id) for e in stuck[:10])
        raise FailedPrecondition(
            f"cannot {verb} {blocked.value} time entries ({ids}); nothing was changed"
        )


def approve(
    entries: Sequence[TimeEntry], engagements: Mapping[uuid.UUID, Engagement]
) -> list[TimeApproved]:
    """Rates the SUBMITTED entries; one approval, one version, per engagement."""
    at = now()
    groups: dict[uuid.UUID, list[TimeEntry]] = defaultdict(list)
    for e in {e.id: e for e in entries}.values():
        if e.status is TimeEntryStatus.SUBMITTED:
            groups[e.engagement_id].append(e)
    approvals = []
    for engagement_id, group in groups.items():
        engagement = engagements[engagement_id]
        for e in group:
            # The card in effect on the entry's date (an amendment may have replaced it).
            line = engagement.rate_for(e.role, e.date)
            if line is None:  # an amendment's new card dropped the role after it was submitted
                raise FailedPrecondition(
                    f"time entry {e.id}: {e.role!r} is not on the rate card of"
                    f" {engagement.code} in effect on {e.date}; reject it or resubmit it in a"
                    " role of that card; nothing was changed"
                )
            e.rating = Rating(
                line.bill_rate,
                line.cost_rate,
                Money.of(e.hours * line.bill_rate, engagement.currency),
                Money.of(e.hours * line.cost_rate, engagement.currency),
            )
            e.status, e.decided_at = TimeEntryStatus.APPROVED, at
        engagement.approved_hours += sum((e.hours for e in group), Decimal(0))
        engagement.touch()
        approvals.append(
            TimeApproved(
                engagement.id,
                engagement.version,
                engagement.billing_model,
                engagement.approved_hours,
                engagement.budget_hours,
                group,
            )
        )
    return approvals


def reject(entries: Sequence[TimeEntry], reason: str) -> list[TimeEntry]:
    """The SUBMITTED entries, now REJECTED with the reason; the others stay as they are."""
    at = now()
    changed = []
    for e in {e.id: e for e in entries}.values():
        if e.status is TimeEntryStatus.SUBMITTED:
            e.status, e.rejection_reason, e.decided_at = TimeEntryStatus.REJECTED, reason, at
            changed.append(e)
    return changed
