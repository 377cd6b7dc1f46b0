"""Time entries: what a submission must satisfy, the 24-hour day, and rating on approval."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.errors import FailedPrecondition, Violations
from mesh.money import Money
from services.project.domain.model import BillingModel, Engagement, now
from services.project.domain.values import MAX_ID, check_batch_size, check_decimal, check_text

MAX_DAY_HOURS = Decimal(24)
MAX_DESCRIPTION = 500  # 500 entries of one engagement still fit one event comfortably

PersonDay = tuple[str, dt.date]


class TimeEntryStatus(enum.Enum):
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class TimeEntryDraft:
    """One entry as submitted; date None when missing or impossible."""

    engagement_id: str
    person_id: str
    role: str
    date: dt.date | None
    hours: str
    billable: bool
    description: str
    external_id: str


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

    @property
    def person_day(self) -> PersonDay:
        return (self.person_id, self.date)

    @property
    def external_key(self) -> tuple[uuid.UUID, str] | None:
        """(engagement, the PSA's id): what makes a resubmission the same entry."""
        return (self.engagement_id, self.external_id) if self.external_id else None


@dataclass(frozen=True)
class TimeApproved:
    """One ApproveTime call's entries of one engagement, and the version it produced."""

    engagement_id: uuid.UUID
    version: int
    billing_model: BillingModel
    approved_hours: Decimal
    budget_hours: Decimal
    entries: list[TimeEntry]


def check_submission(drafts: Sequence[TimeEntryDraft]) -> list[TimeEntry]:
    """The entries' own values; what needs the engagement is checked by check_placement."""
    check_batch_size(len(drafts), "entries")
    errors = Violations()
    entries: list[TimeEntry] = []
    seen: dict[tuple[uuid.UUID, str], int] = {}
    for i, d in enumerate(drafts):
        at = f"entries[{i}]"
        try:
            engagement_id = uuid.UUID(d.engagement_id)
        except ValueError:
            errors.add(f"{at}.engagement_id", f"{d.engagement_id[:64]!r} is not an id (a UUID)")
            engagement_id = uuid.UUID(int=0)
        person = check_text(d.person_id, f"{at}.person_id", errors, max_length=MAX_ID)
        role = check_text(d.role, f"{at}.role", errors, max_length=100)
        if d.date is None:
            errors.add(f"{at}.date", "is required (a valid date)")
        hours = check_decimal(
            d.hours,
            f"{at}.hours",
            errors,
            low=Decimal(0),
            high=MAX_DAY_HOURS,
            places=2,
            low_exclusive=True,
        )
        description = check_text(
            d.description, f"{at}.description", errors, max_length=MAX_DESCRIPTION, required=False
        )
        external_id = check_text(
            d.external_id, f"{at}.external_id", errors, max_length=MAX_ID, required=False
        )
        if external_id:
            first = seen.setdefault((engagement_id, external_id), i)
            if first != i:
                errors.add(f"{at}.external_id", f"repeats entries[{first}].external_id")
        if d.date is not None and hours is not None:
            entries.append(
                TimeEntry(
                    uuid.uuid4(),
                    engagement_id,
                    person,
                    role,
                    d.date,
                    hours,
                    d.billable,
                    description,
                    external_id or None,
                )
            )
    errors.raise_if_any()
    return entries


def check_placement(
    entries: Sequence[tuple[int, TimeEntry]],
    engagements: Mapping[uuid.UUID, Engagement],
    people: set[str],
) -> None:
    """DESIGN.md §3: a known engagement, ACTIVE, the role on its rate card, the date within it."""
    errors = Violations()
    for i, e in entries:
        engagement = engagements.get(e.engagement_id)
        if engagement is None:
            errors.add(f"entries[{i}].engagement_id", f"no engagement {e.engagement_id}")
            continue
        if engagement.rate_for(e.role) is None:
            errors.add(
                f"entries[{i}].role", f"{e.role!r} is not on the rate card of {engagement.code}"
            )
        if not engagement.covers(e.date):
            errors.add(
                f"entries[{i}].date",
                f"{e.date} is outside {engagement.code} "
                f"({engagement.start_date}..{engagement.end_date})",
            )
        if e.person_id not in people:
            errors.add(f"entries[{i}].person_id", f"{e.person_id!r} is not a registered person")
    errors.raise_if_any()
    for i, e in entries:
        try:
            engagements[e.engagement_id].require_active("time")
        except FailedPrecondition as exc:
            raise FailedPrecondition(f"entries[{i}]: {exc.message}") from None


def check_daily_cap(
    entries: Sequence[tuple[int, TimeEntry]], recorded: Mapping[PersonDay, Decimal]
) -> None:
    """At most 24 hours per person per day across engagements (rejected time does not count)."""
    errors = Violations()
    running: dict[PersonDay, Decimal] = defaultdict(Decimal)
    for i, e in entries:
        before = recorded.get(e.person_day, Decimal(0))
        running[e.person_day] += e.hours
        if before + running[e.person_day] > MAX_DAY_HOURS:
            errors.add(
                f"entries[{i}].hours",
                f"{e.person_id} would have "
                f"{before + running[e.person_day]} hours on {e.date} "
                f"({before} already recorded); a day has {MAX_DAY_HOURS}",
            )
    errors.raise_if_any()


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
            line = engagement.rate_for(e.role)
            assert line is not None, "roles are checked on submit and rate cards never change"
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
