"""Read models over the journal: trial balance, revenue report rows, portfolio totals."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mesh.money import Money, total
from services.revenue.domain.accounts import Account
from services.revenue.domain.position import percent


@dataclass(frozen=True)
class AccountBalance:
    account: Account
    debit: Money
    credit: Money

    @property
    def balance(self) -> Money:
        """Debit minus credit: negative for a credit balance."""
        return self.debit - self.credit


@dataclass(frozen=True)
class TrialBalance:
    """One currency's account balances; debits equal credits because every entry balances."""

    currency: str
    accounts: tuple[AccountBalance, ...]

    @property
    def total_debit(self) -> Money:
        return total((a.debit for a in self.accounts), self.currency)

    @property
    def total_credit(self) -> Money:
        return total((a.credit for a in self.accounts), self.currency)


def trial_balances(rows: Sequence[tuple[str, Account, Decimal, Decimal]]) -> list[TrialBalance]:
    """Per currency, from (currency, account, debits, credits) sums; codes order them on read."""
    by_currency: dict[str, list[AccountBalance]] = {}
    for currency, account, debit, credit in rows:
        by_currency.setdefault(currency, []).append(
            AccountBalance(account, Money(debit, currency), Money(credit, currency))
        )
    found = [
        TrialBalance(c, tuple(sorted(by_currency[c], key=lambda a: a.account.value)))
        for c in sorted(by_currency)
    ]
    for balance in found:
        assert balance.total_debit == balance.total_credit, f"unbalanced books: {balance}"
    return found


class GroupBy(enum.Enum):
    MONTH = "MONTH"
    ENGAGEMENT = "ENGAGEMENT"
    CUSTOMER = "CUSTOMER"


@dataclass(frozen=True)
class ReportRow:
    key: str
    label: str
    currency: str
    recognized: Money
    cost: Money

    @property
    def margin(self) -> Money:
        return self.recognized - self.cost


@dataclass(frozen=True)
class CurrencyPortfolio:
    currency: str
    engagements: int
    backlog: Money
    recognized: Money
    billed: Money
    unbilled_receivable: Money
    deferred_revenue: Money
    cost: Money

    @property
    def margin(self) -> Money:
        return self.recognized - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin.amount, self.recognized.amount)
