"""Hostile numbers in the events revenue consumes (DESIGN.md §6): bounded before any arithmetic,
poison naming the field, and the books untouched (no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from mesh.events.handlers import PoisonMessage
from services.revenue import handlers
from services.revenue.domain.facts import BillingModel
from tests.unit.revenue_fakes import Delivery, Engagement, FakeRevenueBooks, run

DAY = dt.date(2025, 1, 6)
HOSTILE = ["NaN", "sNaN", "Infinity", "-Infinity", "1E+999999999", "1e400", "1.1234567"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("part", ["hours", "bill_rate", "cost_rate"])
async def test_hostile_hours_or_rates_are_poison_naming_the_field(part: str, value: str) -> None:
    e = Engagement(BillingModel.FIXED_FEE, contract_value="1000", budget_hours="10")
    books = FakeRevenueBooks()
    await run(books, [Delivery(*e.activated())])
    values = {"hours": "1", "bill_rate": "100", "cost_rate": "50", part: value}
    subject, message = e.time(
        ("t1", DAY, values["hours"], values["bill_rate"], values["cost_rate"], True)
    )
    with pytest.raises(PoisonMessage, match=rf"entries\[0\]\.{part}:"):
        await run(books, [Delivery(subject, message)])
    assert not books.entries
    assert (await handlers.get_position(books, e.id)).version == 1


@pytest.mark.parametrize(
    ("units", "nanos", "field"),
    [
        (1, 1_000_000_000, "amount.nanos"),  # nanos over a unit
        (-1, 5, "amount.nanos"),  # signs that disagree
        (10**15, 0, "amount"),  # sixteen integer digits
        (2**63 - 1, 0, "amount"),  # int64 units
    ],
)
async def test_malformed_money_is_poison_naming_the_field(
    units: int, nanos: int, field: str
) -> None:
    e = Engagement(BillingModel.TIME_AND_MATERIALS)
    books = FakeRevenueBooks()
    await run(books, [Delivery(*e.activated())])
    subject, message = e.expense("x1", DAY, "1.00")
    message.amount.units, message.amount.nanos = units, nanos  # type: ignore[attr-defined]
    with pytest.raises(PoisonMessage, match=rf"{field}:"):
        await run(books, [Delivery(subject, message)])
    assert not books.entries
