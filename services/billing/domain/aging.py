"""Receivables aging: open balances by days past due, one report per currency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from mesh import money
from mesh.money import Money

# (name, last day past due in the bucket); "current" is not yet due.
BUCKETS = (
    ("current", 0),
    ("overdue_1_to_30", 30),
    ("overdue_31_to_60", 60),
    ("overdue_61_to_90", 90),
    ("overdue_over_90", None),
)


@dataclass(frozen=True)
class OpenBalance:
    """What one invoice still owed on the aging date."""

    balance: Money
    due_date: dt.date


@dataclass(frozen=True)
class CurrencyAging:
    currency: str
    buckets: dict[str, Money]  # every bucket name, zero when empty
    total: Money
    open_invoices: int


def bucket_of(due_date: dt.date, as_of: dt.date) -> str:
    days_past_due = (as_of - due_date).days
    for name, last_day in BUCKETS:
        if last_day is None or days_past_due <= last_day:
            return name
    raise AssertionError("the last bucket is open-ended")


def age(balances: Iterable[OpenBalance], as_of: dt.date) -> list[CurrencyAging]:
    """Per currency, ordered by code: amounts in different currencies are never added."""
    by_currency: dict[str, list[OpenBalance]] = {}
    for open_balance in balances:
        by_currency.setdefault(open_balance.balance.currency, []).append(open_balance)
    report = []
    for currency in sorted(by_currency):
        buckets = {name: Money.zero(currency) for name, _ in BUCKETS}
        for item in by_currency[currency]:
            name = bucket_of(item.due_date, as_of)
            buckets[name] = buckets[name] + item.balance
        report.append(
            CurrencyAging(
                currency=currency,
                buckets=buckets,
                total=money.total(buckets.values(), currency),
                open_invoices=len(by_currency[currency]),
            )
        )
    return report
