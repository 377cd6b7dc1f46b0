"""Time and expense rules: entry checks, the 24-hour day, rating and markup (no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from mesh.errors import FailedPrecondition, InvalidArgument
from mesh.money import Money
from services.project.domain import expenses, time, timesheet
from services.project.domain.expenses import Expense, ExpenseStatus
from services.project.domain.model import (
    BillingModel,
    Engagement,
    EngagementStatus,
    Opportunity,
    RateCardLine,
)
from services.project.domain.time import TimeEntryStatus
from services.project.domain.timesheet import TimeEntryDraft

DAY = dt.date(2025, 3, 4)


def engagement(currency: str = "USD", **changes: object) -> Engagement:
    base = Engagement(
        id=uuid.uuid4(),
        code="PRJ-US01-2025-0001",
        name="Rollout",
        legal_entity="US01",
        currency=currency,
        billing_model=BillingModel.TIME_AND_MATERIALS,
        opportunity=Opportunity("salesforce", "1"),
        customer_id=uuid.uuid4(),
        customer_matched_by="CREATED",
        contract_value=Money.zero(currency),
        start_date=dt.date(2025, 3, 1),
        end_date=dt.date(2025, 3, 31),
        budget_hours=Decimal(100),
        rate_card=[RateCardLine("Dev", Decimal("187.35"), Decimal("99.99"))],
        milestones=[],
        payment_terms_days=30,
        expense_markup_percent=Decimal("12.5"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def draft(e: Engagement, hours: str = "7.5", **changes: object) -> TimeEntryDraft:
    base = TimeEntryDraft(str(e.id), "p-1", "Dev", DAY, hours, True, "", "")
    return replace(base, **changes)  # type: ignore[arg-type]


def fields(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


@pytest.mark.parametrize("hours", ["0", "-1", "24.01", "seven", "1e1", "7.555", "", " "])
def test_hours_must_be_a_plain_decimal_above_zero_up_to_24(hours: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        timesheet.check_submission([draft(engagement(), hours=hours)])
    assert fields(error) == ["entries[0].hours"]


def test_placement_checks_role_dates_people_then_the_engagement_state() -> None:
    e = engagement()
    entries = timesheet.check_submission(
        [
            draft(e, role="Pilot"),
            draft(e, date=dt.date(2025, 4, 1)),
            draft(e, person_id="p-2"),
            draft(e, engagement_id=str(uuid.uuid4())),
        ]
    )
    with pytest.raises(InvalidArgument) as error:
        timesheet.check_placement(list(enumerate(entries)), {e.id: e}, {"p-1"})
    assert fields(error) == [
        "entries[0].role",
        "entries[1].date",
        "entries[2].person_id",
        "entries[3].engagement_id",
    ]
    done = replace(e, status=EngagementStatus.COMPLETED)
    with pytest.raises(FailedPrecondition, match=r"entries\[0\].*COMPLETED"):
        timesheet.check_placement(
            list(enumerate(timesheet.check_submission([draft(e)]))), {e.id: done}, {"p-1"}
        )


def test_a_person_day_holds_24_hours_across_engagements_and_within_a_batch() -> None:
    e = engagement()
    entries = list(
        enumerate(timesheet.check_submission([draft(e, hours="4"), draft(e, hours="0.01")]))
    )
    timesheet.check_daily_cap(entries[:1], {("p-1", DAY): Decimal(20)})  # exactly 24 is fine
    with pytest.raises(InvalidArgument) as error:
        timesheet.check_daily_cap(entries, {("p-1", DAY): Decimal(20)})
    assert fields(error) == ["entries[1].hours"]
    assert "24.01" in error.value.message
    other_day = [(0, replace(entries[0][1], date=DAY + dt.timedelta(days=1)))]
    timesheet.check_daily_cap(other_day, {("p-1", DAY): Decimal(24)})


@pytest.mark.parametrize(
    ("currency", "hours", "rate", "amount"),
    [
        ("USD", "7.5", "187.35", "1405.13"),  # 1405.125 rounds half-up
        ("USD", "0.01", "0.49", "0.00"),
        ("JPY", "1.5", "12345", "18518"),  # 18517.5 -> no minor unit
        ("KWD", "2.5", "33.3333", "83.333"),  # 83.33325 -> three decimals
    ],
)
def test_approval_rates_each_entry_once_to_the_currency_minor_unit(
    currency: str, hours: str, rate: str, amount: str
) -> None:
    e = engagement(currency, rate_card=[RateCardLine("Dev", Decimal(rate), Decimal(rate))])
    [entry] = timesheet.check_submission([draft(e, hours=hours)])
    [approval] = time.approve([entry], {e.id: e})
    assert entry.rating is not None
    assert entry.rating.bill_amount == Money(Decimal(amount), currency)
    assert str(entry.rating.bill_amount.amount) == amount
    assert approval.entries == [entry]


def test_one_approval_and_one_version_per_engagement_per_call() -> None:
    a, b = engagement(), engagement()
    entries = timesheet.check_submission(
        [draft(a, hours="1"), draft(b, hours="2"), draft(a, hours="3")]
    )
    entries[2].status = TimeEntryStatus.APPROVED  # approved before: left as it is
    approvals = time.approve([*entries, entries[0]], {a.id: a, b.id: b})
    assert [(x.engagement_id, x.version, len(x.entries)) for x in approvals] == [
        (a.id, 2, 1),
        (b.id, 2, 1),
    ]
    assert (a.approved_hours, b.approved_hours) == (Decimal(1), Decimal(2))
    assert entries[2].rating is None


def test_approving_rejected_or_rejecting_approved_time_fails_the_call() -> None:
    e = engagement()
    entries = timesheet.check_submission([draft(e), draft(e)])
    time.reject(entries[:1], "wrong code")
    with pytest.raises(FailedPrecondition, match="REJECTED"):
        time.check_decidable(entries, TimeEntryStatus.REJECTED, "approve")
    time.approve(entries[1:], {e.id: e})
    with pytest.raises(FailedPrecondition, match="APPROVED"):
        time.check_decidable(entries, TimeEntryStatus.APPROVED, "reject")


def test_expense_approval_fixes_the_markup_and_bills_only_billable_ones() -> None:
    e = engagement()
    spent = Money(Decimal("99.99"), "USD")
    billable = Expense(uuid.uuid4(), e.id, "p-1", DAY, spent, "travel", True, "", None)
    own_cost = replace(billable, id=uuid.uuid4(), billable=False)
    approvals = expenses.approve([billable, own_cost, billable], {e.id: e})
    assert [(x.version, x.expense.status) for x in approvals] == [
        (2, ExpenseStatus.APPROVED),
        (3, ExpenseStatus.APPROVED),
    ]
    assert billable.billable_amount == Money(Decimal("112.49"), "USD")  # 112.48875
    assert own_cost.billable_amount == Money.zero("USD")
    assert expenses.approve([billable], {e.id: e}) == []  # already approved: nothing new
