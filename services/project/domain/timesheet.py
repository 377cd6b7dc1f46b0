"""Submitting time: what a submission must satisfy, resubmissions, and the 24-hour day."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mesh.errors import FailedPrecondition, Violations
from services.project.domain.model import Engagement
from services.project.domain.time import PersonDay, TimeEntry, TimeEntryStatus
from services.project.domain.values import MAX_ID, check_batch_size, check_decimal, check_text

MAX_DAY_HOURS = Decimal(24)
MAX_DESCRIPTION = 500  # 500 entries of one engagement still fit one event comfortably


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


def resubmissions(
    entries: Sequence[TimeEntry], stored: Mapping[tuple[uuid.UUID, str], TimeEntry]
) -> tuple[list[TimeEntry], list[tuple[int, TimeEntry]], list[tuple[int, TimeEntry]]]:
    """DESIGN.md §6: an external id the PSA used before is the same entry. Its content sent
    again is a retry; new content replaces a SUBMITTED entry (the PSA's edit wins) and is
    FAILED_PRECONDITION once it was approved or rejected. Returns every entry as it stands
    after the submission, and the new and the replaced ones (by position) to check and store."""
    answer: list[TimeEntry] = []
    fresh: list[tuple[int, TimeEntry]] = []
    replaced: list[tuple[int, TimeEntry]] = []
    for i, e in enumerate(entries):
        known = stored.get(e.external_key) if e.external_key else None
        if known is None:
            fresh.append((i, e))
        elif known.content != e.content:
            if known.status is not TimeEntryStatus.SUBMITTED:
                raise FailedPrecondition(
                    f"entries[{i}]: externalId {known.external_id!r} is entry {known.id},"
                    f" already {known.status.value}; nothing was changed"
                )
            known.person_id, known.role, known.date = e.person_id, e.role, e.date
            known.hours, known.billable, known.description = e.hours, e.billable, e.description
            replaced.append((i, known))
        answer.append(known or e)
    return answer, fresh, replaced


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
        if engagement.rate_for(e.role, e.date) is None:
            errors.add(
                f"entries[{i}].role",
                f"{e.role!r} is not on the rate card of {engagement.code} in effect on {e.date}",
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
