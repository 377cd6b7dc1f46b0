"""The journal export (DESIGN.md §9): a period's journal of one legal entity, summarized to one
line per (currency, engagement, account) with the entity's ERP account codes, for import."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mesh.money import Money, total
from services.revenue.domain.accounts import Account, ChartOfAccounts
from services.revenue.domain.periods import Period


@dataclass(frozen=True)
class ExportTotal:
    """Sums of one (currency, engagement, account) over the period's entries, from the store."""

    currency: str
    engagement_id: uuid.UUID
    engagement_code: str
    account: Account
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class ExportLine:
    journal_id: str  # one balanced journal per currency: <entity>-<YYYYMM>-<currency>
    currency: str
    engagement_id: uuid.UUID
    engagement_code: str
    account: Account
    account_code: str  # the entity's ERP code (LegalEntitySetting.accounts), else the chart's
    debit: Money  # the net movement: exactly one of debit and credit is non-zero
    credit: Money


@dataclass(frozen=True)
class JournalExport:
    legal_entity: str
    period: Period
    provisional: bool  # the period is not closed: later postings may still land in it
    lines: tuple[ExportLine, ...]

    def net(self, currency: str) -> Money:
        """Debits minus credits in one currency: zero for every currency (every entry balances)."""
        return total((x.debit - x.credit for x in self.lines if x.currency == currency), currency)

    @property
    def currencies(self) -> list[str]:
        return sorted({x.currency for x in self.lines})


def journal_id(legal_entity: str, period: Period, currency: str) -> str:
    """At most 8 + 1 + 6 + 1 + 3 = 19 characters: fits an ERP document number of 20."""
    return f"{legal_entity}-{period.year:04d}{period.month:02d}-{currency}"


def journal_export(
    legal_entity: str,
    period: Period,
    *,
    closed: bool,
    totals: Sequence[ExportTotal],
    chart: ChartOfAccounts,
    accounts: Mapping[str, str],
) -> JournalExport:
    """Net lines ordered by currency, engagement code, then account code; an account whose
    debits and credits cancel within the period has no line."""
    lines = []
    for t in totals:
        net = Money.of(t.debit - t.credit, t.currency)
        if not net.amount:
            continue
        zero = Money.zero(t.currency)
        lines.append(
            ExportLine(
                journal_id=journal_id(legal_entity, period, t.currency),
                currency=t.currency,
                engagement_id=t.engagement_id,
                engagement_code=t.engagement_code,
                account=t.account,
                account_code=accounts.get(t.account.value) or chart.code(t.account),
                debit=net if net.amount > 0 else zero,
                credit=-net if net.amount < 0 else zero,
            )
        )
    lines.sort(key=lambda x: (x.currency, x.engagement_code, str(x.engagement_id), x.account_code))
    export = JournalExport(legal_entity, period, not closed, tuple(lines))
    for currency in export.currencies:
        assert not export.net(currency).amount, f"unbalanced export in {currency}"
    return export
