"""Contract rows: set up, read for posting, and their postings recorded in one statement;
and the events parked until their contract exists."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import asyncpg

from mesh.money import Money
from services.revenue.domain.contract import Outcome, RevenueContract
from services.revenue.domain.facts import BillingModel, Terms
from services.revenue.domain.periods import Ledger
from services.revenue.handlers import ParkedEvent
from services.revenue.store.periods import ledger_of
from services.revenue.store.rows import Rows

_COLUMNS = """
c.engagement_id, c.code, c.name, c.legal_entity, c.currency, c.billing_model, c.customer_id,
c.customer_name, c.contract_value, c.budget_hours, c.expense_markup_percent, c.signed_on,
c.approved_hours, c.completed_on, c.recognized, c.recognized_fee, c.billed, c.cost,
c.unbilled_receivable, c.deferred_revenue, c.version, c.updated_at, c.terms_version
"""
_CONTRACT = f"SELECT {_COLUMNS} FROM contracts c"


def _contract(row: asyncpg.Record) -> RevenueContract:
    currency = row["currency"]

    def money(column: str) -> Money:
        return Money(row[column], currency)

    terms = Terms(
        engagement_id=row["engagement_id"],
        code=row["code"],
        name=row["name"],
        legal_entity=row["legal_entity"],
        currency=currency,
        billing_model=BillingModel(row["billing_model"]),
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        contract_value=money("contract_value"),
        budget_hours=row["budget_hours"],
        expense_markup_percent=row["expense_markup_percent"],
        signed_on=row["signed_on"],
        terms_version=row["terms_version"],
    )
    return RevenueContract(
        terms=terms,
        recognized=money("recognized"),
        recognized_fee=money("recognized_fee"),
        billed=money("billed"),
        cost=money("cost"),
        unbilled_receivable=money("unbilled_receivable"),
        deferred_revenue=money("deferred_revenue"),
        approved_hours=row["approved_hours"],
        completed_on=row["completed_on"],
        version=row["version"],
        updated_at=row["updated_at"],
    )


class ContractRows(Rows):
    async def contract(self, engagement_id: uuid.UUID) -> RevenueContract | None:
        row = await self.conn.fetchrow(f"{_CONTRACT} WHERE c.engagement_id = $1", engagement_id)
        return _contract(row) if row else None

    async def contracts(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RevenueContract]:
        rows = await self.conn.fetch(
            f"{_CONTRACT} WHERE c.engagement_id = ANY($1::uuid[])", list(set(ids))
        )
        return {row["engagement_id"]: _contract(row) for row in rows}

    async def contract_for_posting(
        self, engagement_id: uuid.UUID, keys: Sequence[str]
    ) -> tuple[RevenueContract, Ledger, set[str]] | None:
        # The contract row is ours until commit; the ledger row is shared with other postings
        # and keeps ClosePeriod out until we commit (and us out until it does).
        row = await self.conn.fetchrow(
            f"""SELECT {_COLUMNS}, l.closed_through,
                       ARRAY(SELECT k FROM unnest($2::text[]) k
                              WHERE NOT EXISTS (SELECT 1 FROM applied_facts a
                                                 WHERE a.engagement_id = c.engagement_id
                                                   AND a.key = k)) AS unseen
                  FROM contracts c JOIN ledgers l ON l.legal_entity = c.legal_entity
                 WHERE c.engagement_id = $1
                   FOR UPDATE OF c FOR SHARE OF l""",
            engagement_id,
            list(keys),
        )
        if row is None:
            return None
        ledger = ledger_of(row["legal_entity"], row["closed_through"])
        return _contract(row), ledger, set(row["unseen"])

    async def add_contract(self, contract: RevenueContract) -> None:
        t = contract.terms
        await self.conn.execute(
            "INSERT INTO ledgers (legal_entity) VALUES ($1) ON CONFLICT DO NOTHING", t.legal_entity
        )
        await self.conn.execute(
            """INSERT INTO contracts (engagement_id, code, name, legal_entity, currency,
                   billing_model, customer_id, customer_name, contract_value, budget_hours,
                   expense_markup_percent, signed_on, approved_hours, recognized, recognized_fee,
                   billed, cost, unbilled_receivable, deferred_revenue, version, updated_at,
                   terms_version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, 0, 0, 0, 0, 0,
                       $13, $14, $15)""",
            t.engagement_id,
            t.code,
            t.name,
            t.legal_entity,
            t.currency,
            t.billing_model.value,
            t.customer_id,
            t.customer_name,
            t.contract_value.amount,
            t.budget_hours,
            t.expense_markup_percent,
            t.signed_on,
            contract.version,
            contract.updated_at,
            t.terms_version,
        )

    async def save_terms(self, contract: RevenueContract) -> None:
        """An amendment's terms; one more contract version, nothing posted."""
        t = contract.terms
        await self.conn.execute(
            """UPDATE contracts SET contract_value = $2, budget_hours = $3, terms_version = $4,
                      version = version + 1, updated_at = now()
                WHERE engagement_id = $1""",
            t.engagement_id,
            t.contract_value.amount,
            t.budget_hours,
            t.terms_version,
        )

    async def record(self, contract: RevenueContract, outcome: Outcome) -> None:
        """The applied keys, the journal entries (opening their periods) and the contract's
        new balances, in one statement."""
        applied, entries = outcome.applied, [p.entry for p in outcome.postings]
        lines = [(e.id, n, line) for e in entries for n, line in enumerate(e.lines, 1)]
        c = contract
        await self.conn.execute(
            """WITH applied AS (
                   INSERT INTO applied_facts (engagement_id, key, service_date, cost)
                   SELECT $1, * FROM unnest($12::text[], $13::date[], $14::numeric[])
               ), entry AS (
                   SELECT * FROM unnest($17::uuid[], $18::text[], $19::text[], $20::text[],
                                        $21::date[], $22::date[], $23::text[], $24::uuid[],
                                        $25::text[], $26::timestamptz[])
                     WITH ORDINALITY AS e(id, kind, basis, description, service_date,
                                          posting_date, period, source_event_id, source_ids,
                                          created_at, n)
               ), opened AS (
                   INSERT INTO periods (legal_entity, period, status, version)
                   SELECT DISTINCT $15, period, 'OPEN', 1 FROM entry
                   ON CONFLICT DO NOTHING
               ), posted AS (
                   INSERT INTO journal_entries (id, legal_entity, engagement_id, kind, basis,
                          description, service_date, posting_date, period, currency,
                          source_event_id, source_ids, created_at)
                   SELECT id, $15, $1, kind, basis, description, service_date, posting_date,
                          period, $16, source_event_id,
                          ARRAY(SELECT jsonb_array_elements_text(source_ids::jsonb)), created_at
                     FROM entry ORDER BY n
               ), lines AS (
                   INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
                   SELECT * FROM unnest($27::uuid[], $28::smallint[], $29::text[],
                                        $30::numeric[], $31::numeric[])
               )
               UPDATE contracts SET approved_hours = $2, completed_on = $3, recognized = $4,
                      recognized_fee = $5, billed = $6, cost = $7, unbilled_receivable = $8,
                      deferred_revenue = $9, version = $10, updated_at = $11
                WHERE engagement_id = $1""",
            c.engagement_id,
            c.approved_hours,
            c.completed_on,
            c.recognized.amount,
            c.recognized_fee.amount,
            c.billed.amount,
            c.cost.amount,
            c.unbilled_receivable.amount,
            c.deferred_revenue.amount,
            c.version,
            c.updated_at,
            [a.key for a in applied],
            [a.service_date for a in applied],
            [a.cost.amount for a in applied],
            c.terms.legal_entity,
            c.currency,
            [e.id for e in entries],
            [e.kind.value for e in entries],
            [e.basis.value if e.basis else None for e in entries],
            [e.description for e in entries],
            [e.service_date for e in entries],
            [e.posting_date for e in entries],
            [str(e.period) for e in entries],
            [e.source_event_id for e in entries],
            [json.dumps(e.source_ids) for e in entries],  # nested lists would be 2-D arrays
            [e.created_at for e in entries],
            [entry_id for entry_id, _, _ in lines],
            [n for _, n, _ in lines],
            [line.account.value for _, _, line in lines],
            [line.debit.amount for _, _, line in lines],
            [line.credit.amount for _, _, line in lines],
        )

    async def park(self, event: ParkedEvent) -> None:
        await self.conn.execute(
            """INSERT INTO parked_events (event_id, engagement_id, subject, payload)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
            event.event_id,
            event.engagement_id,
            event.subject,
            event.payload,
        )

    async def unpark(self, engagement_id: uuid.UUID) -> list[ParkedEvent]:
        rows = await self.conn.fetch(
            """DELETE FROM parked_events WHERE engagement_id = $1
               RETURNING seq, event_id, engagement_id, subject, payload""",
            engagement_id,
        )
        return [
            ParkedEvent(r["event_id"], r["engagement_id"], r["subject"], r["payload"])
            for r in sorted(rows, key=lambda r: r["seq"])
        ]
