"""The set-based reads over the journal (asyncpg): journal pages, trial balance totals, the
revenue report and the portfolio."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from mesh.money import Money
from services.revenue.domain.accounts import Account
from services.revenue.domain.export import ExportTotal
from services.revenue.domain.journal import Basis, EntryKind, JournalEntry, Line
from services.revenue.domain.periods import Period
from services.revenue.domain.reports import CurrencyPortfolio, GroupBy, ReportRow
from services.revenue.handlers import JournalSelection, ReportQuery
from services.revenue.store.rows import Rows

_ENTRIES = """
SELECT e.seq, e.id, e.legal_entity, e.engagement_id, e.kind, e.basis, e.description,
       e.service_date, e.posting_date, e.currency, e.source_event_id, e.source_ids, e.created_at,
       ARRAY(SELECT ARRAY[l.account, l.debit::text, l.credit::text] FROM journal_lines l
              WHERE l.entry_id = e.id ORDER BY l.line_no) AS lines
  FROM journal_entries e
"""

# Report keys: (of a journal entry j, of an applied fact a; both joined to contract c, label).
_GROUPS = {
    GroupBy.MONTH: (
        "to_char(j.posting_date, 'YYYY-MM')",
        "to_char(a.service_date, 'YYYY-MM')",
        "''",
    ),
    GroupBy.ENGAGEMENT: ("c.engagement_id::text", "c.engagement_id::text", "c.code"),
    GroupBy.CUSTOMER: ("c.customer_id", "c.customer_id", "c.customer_name"),
}

_REPORT = """
WITH revenue AS (
    SELECT {entry_key} AS key, max({label}) AS label, c.currency,
           sum(l.credit - l.debit) AS recognized
      FROM journal_entries j
      JOIN journal_lines l ON l.entry_id = j.id AND l.account = 'revenue'
      JOIN contracts c ON c.engagement_id = j.engagement_id
     WHERE j.posting_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR j.legal_entity = $3)
     GROUP BY 1, 3
), costs AS (
    SELECT {fact_key} AS key, max({label}) AS label, c.currency, sum(a.cost) AS cost
      FROM applied_facts a JOIN contracts c ON c.engagement_id = a.engagement_id
     WHERE a.cost <> 0 AND a.service_date BETWEEN $1 AND $2
       AND ($3::text IS NULL OR c.legal_entity = $3)
     GROUP BY 1, 3
), rows AS (
    SELECT coalesce(r.key, k.key) AS key, coalesce(r.label, k.label) AS label,
           coalesce(r.currency, k.currency) AS currency,
           coalesce(r.recognized, 0) AS recognized, coalesce(k.cost, 0) AS cost
      FROM revenue r FULL JOIN costs k ON k.key = r.key AND k.currency = r.currency
)
SELECT * FROM rows
 WHERE $4::text IS NULL OR (key, currency) > ($4, $5::text)
 ORDER BY key, currency
 LIMIT $6
"""

# Positions as of a date, from the journal by posting date and costs by service date. Billed
# is what moved revenue and the contract accounts together (see JournalEntry.billed).
_PORTFOLIO = """
WITH books AS (
    SELECT j.engagement_id,
           sum(l.credit - l.debit) FILTER (WHERE l.account = 'revenue') AS recognized,
           sum(l.credit - l.debit) FILTER (WHERE l.account = 'revenue'
                                             AND j.basis IS DISTINCT FROM 'EXPENSE') AS fee,
           sum(l.credit - l.debit) FILTER (WHERE l.account IN
               ('revenue', 'unbilled_receivable', 'deferred_revenue')) AS billed
      FROM journal_entries j JOIN journal_lines l ON l.entry_id = j.id
     WHERE j.posting_date <= $1 AND ($2::text IS NULL OR j.legal_entity = $2)
     GROUP BY j.engagement_id
), costs AS (
    SELECT engagement_id, sum(cost) AS cost FROM applied_facts
     WHERE cost <> 0 AND service_date <= $1
     GROUP BY engagement_id
), positions AS (
    SELECT c.currency, c.contract_value, coalesce(b.recognized, 0) AS recognized,
           coalesce(b.fee, 0) AS fee, coalesce(b.billed, 0) AS billed,
           coalesce(k.cost, 0) AS cost
      FROM contracts c
      LEFT JOIN books b ON b.engagement_id = c.engagement_id
      LEFT JOIN costs k ON k.engagement_id = c.engagement_id
     WHERE ($2::text IS NULL OR c.legal_entity = $2)
       AND (c.signed_on <= $1 OR b.engagement_id IS NOT NULL OR k.engagement_id IS NOT NULL)
)
SELECT currency, count(*) AS engagements,
       sum(greatest(contract_value - fee, 0)) AS backlog,
       sum(recognized) AS recognized, sum(billed) AS billed,
       sum(greatest(recognized - billed, 0)) AS unbilled,
       sum(greatest(billed - recognized, 0)) AS deferred,
       sum(cost) AS cost
  FROM positions GROUP BY currency ORDER BY currency
"""


def _entry(row: asyncpg.Record) -> JournalEntry:
    currency = row["currency"]
    return JournalEntry(
        id=row["id"],
        legal_entity=row["legal_entity"],
        engagement_id=row["engagement_id"],
        kind=EntryKind(row["kind"]),
        basis=Basis(row["basis"]) if row["basis"] else None,
        description=row["description"],
        service_date=row["service_date"],
        posting_date=row["posting_date"],
        currency=currency,
        lines=tuple(
            Line(Account(account), Money(Decimal(dr), currency), Money(Decimal(cr), currency))
            for account, dr, cr in row["lines"]
        ),
        source_event_id=row["source_event_id"],
        source_ids=tuple(row["source_ids"]),
        created_at=row["created_at"],
    )


class ReportRows(Rows):
    async def journal_page(
        self, selection: JournalSelection, *, after: int | None, limit: int
    ) -> list[tuple[int, JournalEntry]]:
        # Two plain statements rather than one with optional filters, so each uses its index.
        keys: tuple[object, ...]
        if selection.engagement_id is not None:
            where, keys = "e.engagement_id = $3", (selection.engagement_id,)
        else:
            where = "e.legal_entity = $3 AND e.period = $4"
            keys = (selection.legal_entity, str(selection.period))
        rows = await self.conn.fetch(
            f"{_ENTRIES} WHERE {where} AND e.seq > $1 ORDER BY e.seq LIMIT $2",
            after or 0,
            limit,
            *keys,
        )
        return [(row["seq"], _entry(row)) for row in rows]

    async def revenue_report(
        self, query: ReportQuery, *, after: tuple[str, str] | None, limit: int
    ) -> list[ReportRow]:
        entry_key, fact_key, label = _GROUPS[query.group_by]
        rows = await self.conn.fetch(
            _REPORT.format(entry_key=entry_key, fact_key=fact_key, label=label),
            query.from_date,
            query.to_date,
            query.legal_entity,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        )
        return [
            ReportRow(
                key=r["key"],
                label=r["label"],
                currency=r["currency"],
                recognized=Money(r["recognized"], r["currency"]),
                cost=Money(r["cost"], r["currency"]),
            )
            for r in rows
        ]

    async def portfolio(self, as_of: dt.date, legal_entity: str | None) -> list[CurrencyPortfolio]:
        rows = await self.conn.fetch(_PORTFOLIO, as_of, legal_entity)
        return [
            CurrencyPortfolio(
                currency=r["currency"],
                engagements=r["engagements"],
                backlog=Money(r["backlog"], r["currency"]),
                recognized=Money(r["recognized"], r["currency"]),
                billed=Money(r["billed"], r["currency"]),
                unbilled_receivable=Money(r["unbilled"], r["currency"]),
                deferred_revenue=Money(r["deferred"], r["currency"]),
                cost=Money(r["cost"], r["currency"]),
            )
            for r in rows
        ]

    async def account_totals(
        self, legal_entity: str, as_of: dt.date
    ) -> list[tuple[str, Account, Decimal, Decimal]]:
        rows = await self.conn.fetch(
            """SELECT e.currency, l.account, sum(l.debit) AS debit, sum(l.credit) AS credit
                 FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id
                WHERE e.legal_entity = $1 AND e.posting_date <= $2
                GROUP BY e.currency, l.account""",
            legal_entity,
            as_of,
        )
        return [(r["currency"], Account(r["account"]), r["debit"], r["credit"]) for r in rows]

    async def export_totals(self, legal_entity: str, period: Period) -> list[ExportTotal]:
        """Sums per (currency, engagement, account) of the entries posted in the period."""
        rows = await self.conn.fetch(
            """SELECT e.currency, e.engagement_id, coalesce(max(c.code), '') AS code,
                      l.account, sum(l.debit) AS debit, sum(l.credit) AS credit
                 FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id
                 LEFT JOIN contracts c ON c.engagement_id = e.engagement_id
                WHERE e.legal_entity = $1 AND e.posting_date BETWEEN $2 AND $3
                GROUP BY e.currency, e.engagement_id, l.account""",
            legal_entity,
            period.first_day,
            period.last_day,
        )
        return [
            ExportTotal(
                r["currency"],
                r["engagement_id"],
                r["code"],
                Account(r["account"]),
                r["debit"],
                r["credit"],
            )
            for r in rows
        ]
