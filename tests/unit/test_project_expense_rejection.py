"""rejectExpenses' rule without I/O: all or nothing, a reason kept, a repeat changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from mesh.errors import FailedPrecondition
from mesh.money import Money
from services.project.domain.expenses import Expense, ExpenseStatus, reject


def expense(status: ExpenseStatus = ExpenseStatus.SUBMITTED) -> Expense:
    return Expense(
        uuid.uuid4(), uuid.uuid4(), "p-1", dt.date(2025, 3, 3), Money.of("10", "USD"),
        "meals", True, "", None, status=status,
    )  # fmt: skip


def test_submitted_expenses_are_rejected_and_rejected_ones_stay_as_they_were() -> None:
    pending, done = expense(), expense(ExpenseStatus.REJECTED)
    done.rejection_reason = "Earlier"
    assert reject([pending, done, pending], "No receipt") == [pending]
    assert (pending.status, pending.rejection_reason) == (ExpenseStatus.REJECTED, "No receipt")
    assert pending.rejected_at is not None
    assert done.rejection_reason == "Earlier"


def test_one_approved_expense_fails_the_whole_call() -> None:
    pending, approved = expense(), expense(ExpenseStatus.APPROVED)
    with pytest.raises(FailedPrecondition, match=str(approved.id)):
        reject([pending, approved], "Late")
    assert pending.status is ExpenseStatus.SUBMITTED
