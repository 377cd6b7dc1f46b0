"""Expenses: what a submission must satisfy, and the billable amount fixed on approval."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.errors import FailedPrecondition, Violations
from mesh.money import Money
from services.project.domain.model import Engagement, now
from services.project.domain.values import MAX_ID, check_money, check_text

MAX_EXPENSE = Decimal(10_000_000)


class ExpenseStatus(enum.Enum):
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class ExpenseDraft:
    engagement_id: uuid.UUID
    person_id: str
    date: dt.date | None
    amount: Money | None
    category: str
    billable: bool
    description: str
    external_id: str


@dataclass
class Expense:
    id: uuid.UUID
    engagement_id: uuid.UUID
    person_id: str
    date: dt.date
    amount: Money
    category: str
    billable: bool
    description: str
    external_id: str | None
    status: ExpenseStatus = ExpenseStatus.SUBMITTED
    markup_percent: Decimal | None = None
    billable_amount: Money | None = None
    submitted_at: dt.datetime = field(default_factory=now)
    approved_at: dt.datetime | None = None
    rejection_reason: str | None = None
    rejected_at: dt.datetime | None = None

    @property
    def content(self) -> tuple[object, ...]:
        """What a submission says about the expense (the PSA may correct it until approval)."""
        return (
            self.person_id,
            self.date,
            self.amount,
            self.category,
            self.billable,
            self.description,
        )


@dataclass(frozen=True)
class ExpenseApproved:
    engagement_id: uuid.UUID
    version: int
    expense: Expense


def check_expense(draft: ExpenseDraft, engagement: Engagement, known_person: bool) -> Expense:
    """DESIGN.md §3: in the engagement's currency, dated within it, by a registered person
    (whether the engagement still takes expenses is the caller's to ask, after a retry)."""
    errors = Violations()
    person = check_text(draft.person_id, "person_id", errors, max_length=MAX_ID)
    if person and not known_person:
        errors.add("person_id", f"{person!r} is not a registered person")
    if draft.date is None:
        errors.add("date", "is required (a valid date)")
    elif not engagement.covers(draft.date):
        errors.add(
            "date",
            f"{draft.date} is outside {engagement.code} "
            f"({engagement.start_date}..{engagement.end_date})",
        )
    amount = check_money(draft.amount, engagement.currency, "amount", errors, positive=True)
    if amount is not None and amount.amount > MAX_EXPENSE:
        errors.add("amount", f"must be at most {MAX_EXPENSE}")
    category = check_text(draft.category, "category", errors, max_length=50).lower()
    description = check_text(
        draft.description, "description", errors, max_length=500, required=False
    )
    external_id = check_text(
        draft.external_id, "external_id", errors, max_length=MAX_ID, required=False
    )
    errors.raise_if_any()
    assert draft.date is not None and amount is not None
    return Expense(
        uuid.uuid4(),
        engagement.id,
        person,
        draft.date,
        amount,
        category,
        draft.billable,
        description,
        external_id or None,
    )


def resubmit(known: Expense, sent: Expense) -> bool:
    """DESIGN.md §6, an external id used before: the same content is a retry (False); new
    content replaces a SUBMITTED expense (True); an approved one is FAILED_PRECONDITION."""
    if known.content == sent.content:
        return False
    if known.status is not ExpenseStatus.SUBMITTED:
        raise FailedPrecondition(
            f"externalId {known.external_id!r} is expense {known.id},"
            f" already {known.status.value}; nothing was changed"
        )
    known.person_id, known.date, known.amount = sent.person_id, sent.date, sent.amount
    known.category, known.billable, known.description = (
        sent.category,
        sent.billable,
        sent.description,
    )
    return True


def approve(
    expenses: Sequence[Expense], engagements: Mapping[uuid.UUID, Engagement]
) -> list[ExpenseApproved]:
    """Snapshots the markup onto each SUBMITTED expense; one version and event per expense."""
    at = now()
    approvals = []
    for e in {e.id: e for e in expenses}.values():
        if e.status is not ExpenseStatus.SUBMITTED:
            continue
        engagement = engagements[e.engagement_id]
        markup = engagement.expense_markup_percent
        e.markup_percent = markup
        e.billable_amount = (
            e.amount.times(1 + markup / 100) if e.billable else Money.zero(e.amount.currency)
        )
        e.status, e.approved_at = ExpenseStatus.APPROVED, at
        engagement.touch()
        approvals.append(ExpenseApproved(engagement.id, engagement.version, e))
    return approvals


def reject(expenses: Sequence[Expense], reason: str) -> list[Expense]:
    """All or nothing: an APPROVED expense fails the call (it is billed and recognized); the
    SUBMITTED ones become REJECTED with the reason; REJECTED ones stay as they are (a retry)."""
    unique = list({e.id: e for e in expenses}.values())
    approved = [str(e.id) for e in unique if e.status is ExpenseStatus.APPROVED]
    if approved:
        raise FailedPrecondition(
            f"cannot reject APPROVED expenses ({', '.join(approved[:10])}); nothing was changed"
        )
    at = now()
    changed = []
    for e in unique:
        if e.status is ExpenseStatus.SUBMITTED:
            e.status, e.rejection_reason, e.rejected_at = ExpenseStatus.REJECTED, reason, at
            changed.append(e)
    return changed
