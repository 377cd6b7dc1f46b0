"""engagement.amended in revenue (DESIGN.md §9), worked by hand: FIXED_FEE moves to the new
value and budget by cumulative catch-up on its next posting, never on the amendment itself."""

from __future__ import annotations

import datetime as dt

from mesh.money import Money
from services.revenue import handlers
from services.revenue.domain.facts import BillingModel
from services.revenue.domain.journal import EntryKind
from tests.unit.revenue_fakes import Delivery, Engagement, FakeRevenueBooks, run

D = dt.date


async def recognized(books: FakeRevenueBooks, e: Engagement) -> Money:
    return (await handlers.get_position(books, e.id)).recognized


def balanced(books: FakeRevenueBooks) -> bool:
    return all(
        sum(x.debit.amount for x in entry.lines) == sum(x.credit.amount for x in entry.lines)
        for entry in books.entries
    )


async def test_fixed_fee_amended_to_130000_over_600_hours_catches_up_on_the_next_posting() -> None:
    e = Engagement(
        BillingModel.FIXED_FEE, "USD", "US01", contract_value="100000.00", budget_hours="500"
    )
    books = FakeRevenueBooks()
    await run(books, [Delivery(*e.activated())])
    # 200 of 500 h = 40 % of 100,000.00 = 40,000.00.
    await run(books, [Delivery(*e.time(("t1", D(2025, 1, 20), "200", "200", "100", True)))])
    assert await recognized(books, e) == Money.of("40000.00", "USD") and balanced(books)

    # Amended to 130,000.00 / 600 h from 1 February: nothing is posted by the amendment
    # (200 / 600 x 130,000 = 43,333.33 would be; the next posting catches up instead).
    amended = Delivery(*e.amended(2, D(2025, 2, 1), "130000.00", "600"))
    await run(books, [amended, amended])  # a redelivery changes nothing
    assert len(books.entries) == 1
    position = await handlers.get_position(books, e.id)
    assert position.contract_value == Money.of("130000.00", "USD")
    assert str(position.percent_complete) == "33.33"  # 200 / 600

    # 100 more hours: 300 / 600 = 50 % of 130,000.00 = 65,000.00 cumulative; posts 25,000.00.
    await run(books, [Delivery(*e.time(("t2", D(2025, 2, 10), "100", "200", "100", True)))])
    assert books.entries[-1].recognized == Money.of("25000.00", "USD")
    assert await recognized(books, e) == Money.of("65000.00", "USD") and balanced(books)

    # Completion recognizes the rest: 130,000.00 - 65,000.00 = 65,000.00.
    await run(books, [Delivery(*e.completed(D(2025, 3, 31)))])
    last = books.entries[-1]
    assert (last.kind, last.recognized) == (EntryKind.RECOGNITION, Money.of("65000.00", "USD"))
    assert await recognized(books, e) == Money.of("130000.00", "USD") and balanced(books)


async def test_an_older_amendment_after_a_newer_one_changes_nothing() -> None:
    e = Engagement(BillingModel.FIXED_FEE, "GBP", contract_value="1000.00", budget_hours="10")
    books = FakeRevenueBooks()
    newer, older = (
        e.amended(3, D(2025, 3, 1), "3000.00", "30"),
        e.amended(2, D(2025, 2, 1), "2000.00", "20"),
    )
    await run(books, [Delivery(*e.activated()), Delivery(*newer), Delivery(*older)])
    position = await handlers.get_position(books, e.id)
    assert position.contract_value == Money.of("3000.00", "GBP")
    # 3 of 30 h = 10 % of 3,000.00 = 300.00.
    await run(books, [Delivery(*e.time(("t1", D(2025, 3, 2), "3", "100", "50", True)))])
    assert await recognized(books, e) == Money.of("300.00", "GBP")


async def test_an_amendment_before_revenue_knows_the_engagement_is_skipped() -> None:
    e = Engagement(BillingModel.FIXED_FEE, "GBP", contract_value="1000.00", budget_hours="10")
    books = FakeRevenueBooks()
    await run(books, [Delivery(*e.amended(2, D(2025, 2, 1), "2000.00", "20"))])
    assert books.rows == {} and books.parked == []
