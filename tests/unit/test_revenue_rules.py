"""The revenue rules one at a time: entries, chart, periods, parking, broken events."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from mesh.errors import FailedPrecondition
from mesh.events.handlers import PoisonMessage
from mesh.money import Money
from mesh.settings import SettingsError, load_settings
from services.revenue import handlers
from services.revenue.domain.accounts import Account, ChartOfAccounts
from services.revenue.domain.facts import BillingModel
from services.revenue.domain.journal import EntryKind, JournalEntry, Line, UnbalancedEntry
from services.revenue.domain.periods import Ledger, Period, PeriodStatus
from services.revenue.main import chart_of_accounts
from tests.unit.revenue_fakes import NOW, Close, Delivery, Engagement, FakeRevenueBooks, run

D = dt.date
GBP = "GBP"


def entry(*lines: Line) -> JournalEntry:
    return JournalEntry(
        legal_entity="UK01",
        engagement_id=uuid.uuid4(),
        kind=EntryKind.PAYMENT,
        description="test",
        service_date=D(2025, 1, 1),
        posting_date=D(2025, 1, 1),
        currency=GBP,
        lines=lines,
    )


def test_a_journal_entry_that_does_not_balance_cannot_be_built() -> None:
    ten, nine = Money.of("10.00", GBP), Money.of("9.99", GBP)
    assert entry(Line.dr(Account.CASH, ten), Line.cr(Account.RECEIVABLES, ten)).lines
    cases = [
        (Line.dr(Account.CASH, ten), Line.cr(Account.RECEIVABLES, nine)),
        (Line.dr(Account.CASH, ten),),
        (Line.dr(Account.CASH, ten), Line.cr(Account.RECEIVABLES, Money.of("10", "USD"))),
        (Line(Account.CASH, ten, ten), Line.cr(Account.RECEIVABLES, Money.zero(GBP))),
        (Line.dr(Account.CASH, -ten), Line.cr(Account.RECEIVABLES, -ten)),
    ]
    for lines in cases:
        with pytest.raises(UnbalancedEntry):
            entry(*lines)


def chart(text: str) -> ChartOfAccounts:
    """The chart a revenue process with WEFTWORK_REVENUE_ACCOUNT_CODES=text posts with."""
    return chart_of_accounts(load_settings({"WEFTWORK_REVENUE_ACCOUNT_CODES": text}))


def test_account_codes_are_configurable_and_checked() -> None:
    codes = ChartOfAccounts.with_codes({"revenue": "4100", "cash": "1010"})
    assert (codes.code(Account.REVENUE), codes.code(Account.CASH)) == ("4100", "1010")
    assert codes.code(Account.RECEIVABLES) == "1100"  # the default
    for bad in ("revenu=4100", "revenue", "revenue=41 00", "cash=1100"):  # last: duplicate
        with pytest.raises(ValueError, match="WEFTWORK_REVENUE_ACCOUNT_CODES"):
            chart(bad)


def test_a_bad_chart_of_accounts_stops_the_service_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="WEFTWORK_REVENUE_ACCOUNT_CODES: two accounts"):
        chart("revenue=1000")  # cash has 1000
    assert chart("") == ChartOfAccounts.default()
    assert chart(" revenue = 4100 , cash=1010") == ChartOfAccounts.with_codes(
        {"revenue": "4100", "cash": "1010"}
    )


def test_posting_dates_skip_closed_periods_and_keep_the_rest() -> None:
    ledger = Ledger("UK01", Period(2025, 2))
    assert ledger.posting_date(D(2025, 1, 17)) == D(2025, 3, 1)
    assert ledger.posting_date(D(2025, 2, 28)) == D(2025, 3, 1)
    assert ledger.posting_date(D(2025, 3, 2)) == D(2025, 3, 2)
    assert Ledger("UK01").posting_date(D(2019, 12, 31)) == D(2019, 12, 31)
    assert Period(2025, 12).next() == Period(2026, 1)
    for bad in ("2025-13", "2025-1", "25-01", "1899-12", "2025-01 "):
        with pytest.raises(ValueError):  # noqa: PT011
            Period.parse(bad)


async def test_periods_close_in_order_once_and_only_after_they_end() -> None:
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "GBP", "UK01")
    books = FakeRevenueBooks()
    await run(books, [
        Delivery(*e.activated()),
        Delivery(*e.time(("t1", D(2025, 1, 9), "1", "100", "50", True))),
        Delivery(*e.time(("t2", D(2025, 2, 9), "1", "100", "50", True))),
    ])  # fmt: skip
    with pytest.raises(FailedPrecondition, match="2025-01 still has open postings"):
        await handlers.close_period(books, "UK01", Period(2025, 2), now=NOW)
    with pytest.raises(FailedPrecondition, match="has not ended"):
        await handlers.close_period(
            books, "UK01", Period(2025, 1), now=dt.datetime(2025, 1, 31, 23, tzinfo=dt.UTC)
        )
    recognized = list(books.events)  # revenue.recognized of the two postings
    closed = await handlers.close_period(books, "UK01", Period(2025, 1), now=NOW)
    assert (closed.status, closed.version, closed.closed_at) == (PeriodStatus.CLOSED, 2, NOW)
    again = await handlers.close_period(books, "UK01", Period(2025, 1), now=NOW)
    assert again == closed
    assert books.events == [*recognized, closed]  # one period.closed, not two
    # An entity revenue has not seen yet can close too: its first postings respect it.
    await handlers.close_period(books, "DE01", Period(2025, 1), now=NOW)
    late = Engagement(BillingModel.TIME_AND_MATERIALS, "EUR", "DE01")
    await run(books, [
        Delivery(*late.activated()),
        Delivery(*late.time(("t3", D(2025, 1, 20), "1", "100", "50", True))),
    ])  # fmt: skip
    assert books.entries[-1].posting_date == D(2025, 2, 1)


async def test_events_before_activation_wait_and_then_apply_once() -> None:
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", "US01")
    books = FakeRevenueBooks()
    invoice = uuid.uuid4()
    early = [
        Delivery(*e.issued(invoice, D(2025, 1, 31), "300.00")),
        Delivery(*e.time(("t1", D(2025, 1, 10), "3", "100", "40", True))),
    ]
    await run(books, [*early, early[0]])  # one redelivered while waiting
    assert [p.event_id for p in books.parked] == [d.event_id for d in early]
    assert not books.entries
    await run(books, [Delivery(*e.activated()), *early])  # and again after activation
    position = await handlers.get_position(books, e.id)
    assert (position.recognized, position.billed) == (Money.of(300, "USD"), Money.of(300, "USD"))
    assert [x.kind for x in books.entries] == [EntryKind.INVOICE, EntryKind.RECOGNITION]
    assert not books.parked


async def test_redelivered_facts_are_applied_once_by_business_key() -> None:
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "GBP", "UK01")
    books = FakeRevenueBooks()
    approval = Delivery(*e.time(("t1", D(2025, 1, 10), "2", "100", "40", True)))
    # The same entry again under a new event id, together with a new one.
    overlapping = Delivery(*e.time(("t1", D(2025, 1, 10), "2", "100", "40", True),
                                   ("t2", D(2025, 1, 11), "1", "100", "40", True)))  # fmt: skip
    await run(books, [Delivery(*e.activated()), approval, approval, overlapping])
    position = await handlers.get_position(books, e.id)
    assert (position.recognized, position.cost) == (Money.of(300, GBP), Money.of(120, GBP))
    assert [x.source_ids for x in books.entries] == [("t1",), ("t2",)]
    assert position.version == 3  # set up, then one posting per new entry


async def test_an_event_that_breaks_its_contract_is_poison_and_changes_nothing() -> None:
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "GBP", "UK01")
    books = FakeRevenueBooks()
    await run(books, [Delivery(*e.activated())])
    subject, wrong_currency = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", id=e.id).issued(
        uuid.uuid4(), D(2025, 1, 5), "10.00"
    )
    with pytest.raises(PoisonMessage, match=r"subtotal.currency_code: USD on a GBP engagement"):
        await run(books, [Delivery(subject, wrong_currency)])
    _, unrounded = e.expense("x1", D(2025, 1, 5), "1.00")
    unrounded.amount.nanos = 5_000_000  # type: ignore[attr-defined]  # 1.005 GBP
    _, no_date = e.completed(D(2025, 1, 5))
    no_date.ClearField("completed_on")
    for subject, message, field in [
        ("weftwork.project.expense.approved.v1", unrounded, "amount"),
        ("weftwork.project.engagement.completed.v1", no_date, "completed_on"),
    ]:
        with pytest.raises(PoisonMessage, match=f"{field}:"):
            await run(books, [Delivery(subject, message)])
    assert not books.entries
    assert not books.applied[e.id]
    assert (await handlers.get_position(books, e.id)).version == 1


async def test_a_posting_skips_every_closed_period_up_to_the_next_open_one() -> None:
    e = Engagement(BillingModel.MILESTONE, "EUR", "DE01", contract_value="1000.00")
    books = FakeRevenueBooks()
    await run(books, [
        Delivery(*e.activated()),
        Close("DE01", Period(2025, 1)),
        Close("DE01", Period(2025, 2)),
        Delivery(*e.milestone("m1", D(2025, 1, 15), "1000.00")),
    ])  # fmt: skip
    [recognized] = books.entries
    # Both January and February are closed: the next open period is March.
    assert (recognized.service_date, recognized.posting_date) == (D(2025, 1, 15), D(2025, 3, 1))


async def test_a_billable_expense_is_recognized_marked_up_and_costs_what_was_spent() -> None:
    e = Engagement(
        BillingModel.FIXED_FEE, "GBP", "UK01", "1000.00", budget_hours="10", markup="12.5"
    )
    books = FakeRevenueBooks()
    _, snapshotted = e.expense("x1", D(2025, 1, 5), "80.00")
    snapshotted.markup_percent = "10"  # type: ignore[attr-defined]  # changed since activation
    _, unstated = e.expense("x2", D(2025, 1, 6), "80.00")
    unstated.markup_percent = ""  # type: ignore[attr-defined]
    _, internal = e.expense("x3", D(2025, 1, 7), "5.00", billable=False)
    await run(books, [Delivery(*e.activated())] + [
        Delivery("weftwork.project.expense.approved.v1", m)
        for m in (snapshotted, unstated, internal)
    ])  # fmt: skip
    # 80.00 x 1.10 = 88.00 (the approval's markup); 80.00 x 1.125 = 90.00 (the engagement's);
    # the non-billable 5.00 is cost only. Cost 80 + 80 + 5 = 165.00.
    position = await handlers.get_position(books, e.id)
    assert (position.recognized, position.cost) == (Money.of("178.00", GBP), Money.of(165, GBP))
    assert position.backlog == Money.of("1000.00", GBP)  # expenses come on top of the fee
