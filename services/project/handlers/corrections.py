"""adjustTime (DESIGN.md §9): correct approved hours with a reversal and a replacement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from mesh.errors import NotFound, Violations
from services.project.domain import corrections
from services.project.domain.time import TimeEntry
from services.project.domain.values import check_decimal, check_text
from services.project.handlers import Lock, ProjectRepository
from services.project.handlers.engagements import get_engagement


@dataclass(frozen=True)
class Adjustment:
    original: TimeEntry
    reversal: TimeEntry | None  # None: the same hours, nothing changed
    replacement: TimeEntry | None


def check_adjustment(hours: str, reason: str) -> tuple[Decimal, str]:
    errors = Violations()
    checked = check_decimal(
        hours, "hours", errors, low=Decimal(0), high=Decimal(24), places=2, low_exclusive=True
    )
    reason = check_text(reason, "reason", errors, max_length=500)
    errors.raise_if_any()
    assert checked is not None
    return checked, reason


async def adjust_time(
    repo: ProjectRepository, entry_id: uuid.UUID, hours: Decimal, reason: str
) -> Adjustment:
    """Locks as submissions and approvals do: the person's day, the entry, the engagement."""
    found = (await repo.time_entries([entry_id])).get(entry_id)
    if found is None:
        raise NotFound("time entry", str(entry_id))
    await repo.lock_submission([found.person_day], [])
    entry = (await repo.time_entries([entry_id], lock=Lock.UPDATE))[entry_id]
    corrections.check_adjustable(entry, await repo.replacement_of(entry.id))
    engagement = await get_engagement(repo, entry.engagement_id, lock=Lock.UPDATE)
    others = (await repo.recorded_hours([entry.person_day], excluding=[entry.id])).get(
        entry.person_day, Decimal(0)
    )
    adjusted = corrections.adjust(entry, engagement, hours, reason, others)
    if adjusted is None:
        return Adjustment(entry, None, None)
    await repo.add_corrections([adjusted.reversal, adjusted.replacement])
    await repo.save_engagements([engagement])
    await repo.emit([adjusted])
    return Adjustment(entry, adjusted.reversal, adjusted.replacement)
