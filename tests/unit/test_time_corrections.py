"""adjustTime (DESIGN.md §9) without I/O: project's reversal and replacement, billing's item for
the difference, revenue's take-back; every number worked by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from mesh.errors import FailedPrecondition, InvalidArgument
from mesh.money import Money
from services.billing.domain.items import AdjustedTime, adjustment_item
from services.billing.domain.model import BillingModel as BillingBillingModel
from services.project.domain.corrections import adjust, check_adjustable
from services.project.domain.model import EngagementStatus
from services.project.domain.time import Rating, TimeEntry, TimeEntryStatus
from services.revenue import handlers
from services.revenue.domain.accounts import Account
from services.revenue.domain.facts import BillingModel
from tests.unit.revenue_fakes import Delivery, Engagement, FakeRevenueBooks, run
from tests.unit.test_billing_rules import profile
from tests.unit.test_project_time import engagement

D = dt.date
DAY = D(2025, 3, 14)


def approved(hours: str = "8", status: TimeEntryStatus = TimeEntryStatus.APPROVED) -> TimeEntry:
    h = Decimal(hours)
    return TimeEntry(
        uuid.uuid4(), uuid.uuid4(), "p-1", "Dev", DAY, h, True, "Build", None, status=status,
        rating=Rating(Decimal(150), Decimal(90), Money.of(h * 150, "USD"),
                      Money.of(h * 90, "USD")),
    )  # fmt: skip


def test_a_correction_reverses_the_entry_and_replaces_it_at_its_rates() -> None:
    e = engagement(approved_hours=Decimal(8))
    entry = approved()
    done = adjust(entry, e, Decimal(6), "Typo", Decimal(0))
    assert done is not None
    r, n = done.reversal, done.replacement
    assert (r.hours, r.rating and r.rating.bill_amount.amount) == (Decimal(-8), Decimal(-1200))
    assert (n.hours, n.rating and n.rating.bill_amount.amount) == (Decimal(6), Decimal(900))
    assert (r.corrects, n.corrects, r.status, n.status) == (
        entry.id, entry.id, TimeEntryStatus.APPROVED, TimeEntryStatus.APPROVED,
    )  # fmt: skip
    assert entry.hours == 8 and entry.rating and entry.rating.bill_amount.amount == 1200  # kept
    assert (e.approved_hours, e.version, done.version) == (Decimal(6), 2, 2)


def test_the_same_hours_change_nothing() -> None:
    e = engagement()
    assert adjust(approved(), e, Decimal(8), "Same", Decimal(0)) is None
    assert e.version == 1


@pytest.mark.parametrize("status", [TimeEntryStatus.SUBMITTED, TimeEntryStatus.REJECTED])
def test_only_approved_time_is_corrected(status: TimeEntryStatus) -> None:
    with pytest.raises(FailedPrecondition, match=status.value):
        check_adjustable(approved(status=status), None)


def test_a_reversal_or_a_corrected_entry_is_not_corrected_again() -> None:
    with pytest.raises(FailedPrecondition, match="reversal"):
        check_adjustable(approved("-8"), None)
    replacement = uuid.uuid4()
    with pytest.raises(FailedPrecondition, match=str(replacement)):
        check_adjustable(approved(), replacement)


def test_a_correction_keeps_the_24_hour_day_and_needs_an_active_engagement() -> None:
    e = engagement()
    with pytest.raises(InvalidArgument, match="hours"):
        adjust(approved(), e, Decimal(10), "More", Decimal(15))  # 15 + 10 > 24
    e.status = EngagementStatus.COMPLETED
    with pytest.raises(FailedPrecondition, match="COMPLETED"):
        adjust(approved(), e, Decimal(6), "Late", Decimal(0))


def test_billing_bills_the_difference_as_a_credit_line() -> None:
    correction = AdjustedTime(
        "rev-1", "Dev", DAY, Decimal(8), Decimal(6), Decimal(150), Money.of("-300", "GBP"), True,
        "Typo",
    )  # fmt: skip
    item = adjustment_item(profile(BillingBillingModel.TIME_AND_MATERIALS), correction)
    assert item is not None
    assert [item.quantity, item.unit_price.amount, item.amount.amount] == [-2, 150, -300]
    assert adjustment_item(profile(BillingBillingModel.FIXED_FEE), correction) is None


async def test_revenue_takes_back_what_a_lowered_entry_no_longer_earns() -> None:
    # T&M: 8 h x 150.00 = 1,200.00 recognized (Dr unbilled), invoiced 1,200.00 (Cr unbilled).
    # Corrected to 6 h: reversal -1,200.00 + replacement 900.00 = -300.00 on the 14th:
    # Dr revenue 300.00 / Cr deferred revenue 300.00 (unbilled is 0): billed ahead by 300.00.
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", "US01")
    books = FakeRevenueBooks()
    original = ("t1", DAY, "8", "150", "90", True)
    await run(books, [Delivery(*m) for m in (
        e.activated(), e.time(original), e.issued(uuid.uuid4(), DAY, "1200.00"),
        e.adjusted(original, "t1-r", "t1-n", "6"),
        e.adjusted(original, "t1-r", "t1-n", "6"),  # delivered twice: applied once
    )])  # fmt: skip
    p = await handlers.get_position(books, e.id)
    assert [p.recognized.amount, p.billed.amount, p.deferred_revenue.amount] == [900, 1200, 300]
    assert p.cost.amount == 540  # 6 h x 90.00
    [book] = await handlers.trial_balance(books, "US01", D(2025, 3, 31))
    assert book.total_debit == book.total_credit
    got = {a.account: a.balance.amount for a in book.accounts if a.balance.amount}
    assert got == {
        Account.RECEIVABLES: Decimal("1200.00"),
        Account.DEFERRED_REVENUE: Decimal("-300.00"),
        Account.REVENUE: Decimal("-900.00"),
    }


async def test_fixed_fee_catch_up_goes_back_when_hours_are_lowered() -> None:
    # 10,000.00 / 100 h. 40 h -> 4,000.00. Corrected 40 -> 30 h: target 3,000.00, posting
    # -1,000.00: Dr revenue / Cr unbilled 1,000.00 (its balance is 4,000.00).
    e = Engagement(
        BillingModel.FIXED_FEE, "USD", "US01", contract_value="10000.00", budget_hours="100"
    )
    books = FakeRevenueBooks()
    original = ("t1", DAY, "40", "150", "90", True)
    await run(books, [Delivery(*m) for m in (
        e.activated(), e.time(original), e.adjusted(original, "t1-r", "t1-n", "30"),
    )])  # fmt: skip
    p = await handlers.get_position(books, e.id)
    assert [p.recognized.amount, p.unbilled_receivable.amount] == [3000, 3000]
    assert p.percent_complete == Decimal("30.00")
