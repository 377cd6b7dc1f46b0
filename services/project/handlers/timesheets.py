"""Time and expenses: submitted in batches (the PSA's corrections replace what is still
SUBMITTED), approved with rates, one event per engagement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from mesh.errors import FailedPrecondition, NotFound, Violations
from mesh.paging import page_limit, split_page
from services.project.domain import expenses, time, timesheet
from services.project.domain.expenses import Expense, ExpenseDraft, ExpenseStatus
from services.project.domain.time import TimeEntry, TimeEntryStatus
from services.project.domain.timesheet import TimeEntryDraft
from services.project.domain.values import check_batch_size, check_text
from services.project.handlers import Lock, ProjectRepository
from services.project.handlers.engagements import get_engagement

MAX_TIME_PAGE = 500  # the timeline reads an engagement's time in pages this big
DEFAULT_TIME_PAGE = 100


async def submit_time(repo: ProjectRepository, drafts: Sequence[TimeEntryDraft]) -> list[TimeEntry]:
    """DESIGN.md §3 "Time and expenses", all or nothing. A known external id is the same entry:
    sent again it is a retry, corrected it replaces the entry while it is SUBMITTED (§6)."""
    entries = timesheet.check_submission(drafts)
    keys = [key for e in entries if (key := e.external_key)]
    # One lock per (person, day) and per PSA id, taken in one order: batches touching the same
    # day or entry (a concurrent retry of this very batch, too) run one after the other, so
    # the 24 hours hold and a retry finds what its twin stored.
    await repo.lock_submission({e.person_day for e in entries}, [("time", k) for k in keys])
    # Entries before engagements, as approvals lock them: the two never wait on each other.
    known = await repo.time_entries_by_external_id(keys, lock=Lock.UPDATE) if keys else {}
    answer, fresh, replaced = timesheet.resubmissions(entries, known)
    placed = sorted([*fresh, *replaced], key=lambda pair: pair[0])
    if not placed:
        return answer  # a retry: everything is stored as sent
    # FOR SHARE: the engagements cannot complete while this batch is being added to them.
    engagements = await repo.engagements({e.engagement_id for _, e in placed}, lock=Lock.SHARE)
    people = await repo.known_people({e.person_id for _, e in placed})
    timesheet.check_placement(placed, engagements, people)
    recorded = await repo.recorded_hours(
        {e.person_day for _, e in placed}, excluding=[e.id for _, e in replaced]
    )
    timesheet.check_daily_cap(placed, recorded)
    await repo.add_time_entries([e for _, e in fresh])
    await repo.replace_time_entries([e for _, e in replaced])
    return answer


async def _entries(repo: ProjectRepository, ids: Sequence[uuid.UUID]) -> list[TimeEntry]:
    check_batch_size(len(ids), "ids")
    found = await repo.time_entries(ids, lock=Lock.UPDATE)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFound("time entry", ", ".join(missing[:10]))
    return [found[i] for i in ids]


async def approve_time(repo: ProjectRepository, ids: Sequence[uuid.UUID]) -> list[TimeEntry]:
    """Rates SUBMITTED entries; APPROVED ones stay as they are; one REJECTED fails the call."""
    entries = await _entries(repo, ids)
    time.check_decidable(entries, TimeEntryStatus.REJECTED, "approve")
    pending = {e.engagement_id for e in entries if e.status is TimeEntryStatus.SUBMITTED}
    if not pending:
        return entries
    engagements = await repo.engagements(pending, lock=Lock.UPDATE)
    approvals = time.approve(entries, engagements)
    await repo.save_time_decisions([e for a in approvals for e in a.entries])
    await repo.save_engagements([engagements[a.engagement_id] for a in approvals])
    await repo.emit(approvals)
    return entries


async def reject_time(
    repo: ProjectRepository, ids: Sequence[uuid.UUID], reason: str
) -> list[TimeEntry]:
    """Rejects SUBMITTED entries; approved time is immutable, so one APPROVED fails the call."""
    errors = Violations()
    reason = check_text(reason, "reason", errors, max_length=500)
    errors.raise_if_any()
    entries = await _entries(repo, ids)
    time.check_decidable(entries, TimeEntryStatus.APPROVED, "reject")
    changed = time.reject(entries, reason)
    if changed:
        await repo.save_time_decisions(changed)
    return entries


async def list_time_entries(
    repo: ProjectRepository,
    engagement_id: uuid.UUID,
    status: TimeEntryStatus | None,
    *,
    page_size: int,
    after: tuple[dt.date, str, uuid.UUID] | None,
) -> tuple[list[TimeEntry], tuple[dt.date, str, uuid.UUID] | None]:
    limit = page_limit(page_size, default=DEFAULT_TIME_PAGE, maximum=MAX_TIME_PAGE)
    await get_engagement(repo, engagement_id)
    rows = await repo.page_time_entries(engagement_id, status, after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return page, ((last.date, last.person_id, last.id) if last else None)


async def submit_expense(repo: ProjectRepository, draft: ExpenseDraft) -> Expense:
    """One expense; a known external id is a retry when sent again, and replaces the expense
    while it is SUBMITTED when corrected (DESIGN.md §6)."""
    key = (draft.engagement_id, draft.external_id.strip())
    known = None
    if key[1]:
        await repo.lock_submission((), [("expense", key)])
        known = await repo.expense_by_external_id(key, lock=Lock.UPDATE)
    engagement = await get_engagement(repo, draft.engagement_id, lock=Lock.SHARE)
    person = draft.person_id.strip()
    expense = expenses.check_expense(draft, engagement, bool(await repo.known_people([person])))
    if known is not None and not expenses.resubmit(known, expense):
        return known  # a retry
    engagement.require_active("expenses")
    if known is None:
        await repo.add_expense(expense)
        return expense
    await repo.replace_expense(known)
    return known


async def approve_expenses(repo: ProjectRepository, ids: Sequence[uuid.UUID]) -> list[Expense]:
    check_batch_size(len(ids), "ids")
    found = await repo.expenses(ids, lock=Lock.UPDATE)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFound("expense", ", ".join(missing[:10]))
    listed = [found[i] for i in ids]
    if rejected := [str(e.id) for e in listed if e.status is ExpenseStatus.REJECTED]:
        raise FailedPrecondition(
            f"cannot approve REJECTED expenses ({', '.join(rejected[:10])}); nothing was changed"
        )
    pending = {e.engagement_id for e in listed if e.status is ExpenseStatus.SUBMITTED}
    if pending:
        engagements = await repo.engagements(pending, lock=Lock.UPDATE)
        approvals = expenses.approve(listed, engagements)
        await repo.save_expense_approvals([a.expense for a in approvals])
        await repo.save_engagements(list(engagements.values()))
        await repo.emit(approvals)
    return listed


async def reject_expenses(
    repo: ProjectRepository, ids: Sequence[uuid.UUID], reason: str
) -> list[Expense]:
    """Rejects SUBMITTED expenses with a reason; one APPROVED fails the call, writing nothing."""
    check_batch_size(len(ids), "ids")
    errors = Violations()
    reason = check_text(reason, "reason", errors, max_length=500)
    errors.raise_if_any()
    found = await repo.expenses(ids, lock=Lock.UPDATE)
    if missing := [str(i) for i in ids if i not in found]:
        raise NotFound("expense", ", ".join(missing[:10]))
    listed = [found[i] for i in ids]
    if changed := expenses.reject(listed, reason):
        await repo.save_expense_rejections(changed)
    return listed


async def list_expenses(
    repo: ProjectRepository,
    engagement_id: uuid.UUID,
    status: ExpenseStatus | None,
    *,
    page_size: int,
    after: tuple[dt.date, uuid.UUID] | None,
) -> tuple[list[Expense], tuple[dt.date, uuid.UUID] | None]:
    limit = page_limit(page_size)
    await get_engagement(repo, engagement_id)
    rows = await repo.page_expenses(engagement_id, status, after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return page, ((last.date, last.id) if last else None)
