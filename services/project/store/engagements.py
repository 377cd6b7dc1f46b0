"""Engagement rows: the aggregate with its rate card, milestones and assignments."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence

import asyncpg

from mesh.money import Money
from services.project.domain.model import (
    Assignment,
    BillingModel,
    Engagement,
    EngagementStatus,
    Milestone,
    MilestoneStatus,
    Opportunity,
    RateCardLine,
)
from services.project.domain.versions import RateCard, TermsVersion
from services.project.handlers import EngagementFilter, Lock
from services.project.store.amendments import add_rate_card, add_terms, amendments, rate_cards
from services.project.store.rows import Rows

_COLUMNS = """id, code, name, status, legal_entity, currency, billing_model, opportunity_system,
    opportunity_id, customer_id, customer_matched_by, contract_value, start_date, end_date,
    budget_hours, approved_hours, payment_terms_days, expense_markup_percent, completed_on,
    version, created_at, updated_at, terms_version, purchase_order_number"""


def _engagement(
    row: asyncpg.Record,
    lines: list[RateCardLine],
    milestones: list[Milestone],
    assignments: list[Assignment],
) -> Engagement:
    return Engagement(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        status=EngagementStatus(row["status"]),
        legal_entity=row["legal_entity"],
        currency=row["currency"],
        billing_model=BillingModel(row["billing_model"]),
        opportunity=Opportunity(row["opportunity_system"], row["opportunity_id"]),
        customer_id=row["customer_id"],
        customer_matched_by=row["customer_matched_by"],
        contract_value=Money(row["contract_value"], row["currency"]),
        start_date=row["start_date"],
        end_date=row["end_date"],
        budget_hours=row["budget_hours"],
        approved_hours=row["approved_hours"],
        rate_card=lines,
        milestones=milestones,
        payment_terms_days=row["payment_terms_days"],
        expense_markup_percent=row["expense_markup_percent"],
        assignments=assignments,
        completed_on=row["completed_on"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        terms_version=row["terms_version"],
        purchase_order_number=row["purchase_order_number"],
    )


class EngagementRows(Rows):
    async def _assemble(self, rows: Sequence[asyncpg.Record]) -> list[Engagement]:
        """Engagement rows with their parts: five set-based reads, whatever the count."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        currency = {r["id"]: r["currency"] for r in rows}
        cards = await rate_cards(self.conn, ids)
        amended = await amendments(self.conn, ids, currency)
        milestones: dict[uuid.UUID, list[Milestone]] = defaultdict(list)
        for r in await self.conn.fetch(
            "SELECT id, engagement_id, name, amount, due_date, status, completed_on FROM milestones"
            " WHERE engagement_id = ANY($1::uuid[]) ORDER BY engagement_id, due_date, name, id",
            ids,
        ):
            milestones[r["engagement_id"]].append(
                Milestone(
                    r["id"],
                    r["engagement_id"],
                    r["name"],
                    Money(r["amount"], currency[r["engagement_id"]]),
                    r["due_date"],
                    MilestoneStatus(r["status"]),
                    r["completed_on"],
                )
            )
        staffed: dict[uuid.UUID, list[Assignment]] = defaultdict(list)
        for r in await self.conn.fetch(
            "SELECT engagement_id, person_id, role, planned_hours, assigned_at FROM assignments"
            " WHERE engagement_id = ANY($1::uuid[]) ORDER BY engagement_id, assigned_at, person_id",
            ids,
        ):
            staffed[r["engagement_id"]].append(
                Assignment(r["person_id"], r["role"], r["planned_hours"], r["assigned_at"])
            )
        found = []
        for r in rows:
            e = _engagement(r, [], milestones[r["id"]], staffed[r["id"]])
            e.rate_cards, versions = cards[r["id"]], amended[r["id"]]
            e.original, e.amendments = (versions[0], versions[1:]) if versions else (None, [])
            e.rate_card = list(e.rate_cards[-1].lines) if e.rate_cards else []
            found.append(e)
        return found

    async def engagements(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, Engagement]:
        # In id order, so that every transaction locking several engagements waits in one order.
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM engagements"
            f" WHERE id = ANY($1::uuid[]) ORDER BY id {lock.value}",
            list(ids),
        )
        return {e.id: e for e in await self._assemble(rows)}

    async def engagement_by_opportunity(self, opportunity: Opportunity) -> Engagement | None:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM engagements"
            " WHERE opportunity_system = $1 AND opportunity_id = $2",
            opportunity.system,
            opportunity.external_id,
        )
        found = await self._assemble(rows)
        return found[0] if found else None

    async def page_engagements(
        self, query: EngagementFilter, *, after: tuple[dt.date, str] | None, limit: int
    ) -> list[Engagement]:
        after_date, after_code = after if after else (None, None)
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM engagements
                 WHERE ($1::text IS NULL OR status = $1)
                   AND ($2::text IS NULL OR legal_entity = $2)
                   -- A merged customer's id finds the engagements now under its survivor.
                   AND ($3::uuid IS NULL OR customer_id = coalesce(
                        (SELECT survivor_id FROM customer_aliases WHERE merged_id = $3), $3))
                   AND ($4::date IS NULL OR start_date < $4 OR (start_date = $4 AND code > $5))
                   AND (cardinality($7::text[]) = 0 OR legal_entity = ANY($7::text[]))
                 ORDER BY start_date DESC, code
                 LIMIT $6""",
            query.status.value if query.status else None,
            query.legal_entity,
            query.customer_id,
            after_date,
            after_code,
            limit,
            list(query.legal_entities),
        )
        return await self._assemble(rows)

    async def next_engagement_number(self, legal_entity: str, year: int) -> int:
        number: int = await self.conn.fetchval(
            """INSERT INTO engagement_numbers AS n (legal_entity, year, last_number)
               VALUES ($1, $2, 1)
               ON CONFLICT (legal_entity, year) DO UPDATE SET last_number = n.last_number + 1
               RETURNING last_number""",
            legal_entity,
            year,
        )
        return number

    async def add_engagement(self, e: Engagement) -> bool:
        """False when the opportunity already has an engagement (nothing is written then)."""
        added = await self.conn.fetchval(
            f"""INSERT INTO engagements ({_COLUMNS})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                        $17, $18, $19, $20, $21, $22, $23, $24)
                ON CONFLICT (opportunity_system, opportunity_id) DO NOTHING
                RETURNING true""",
            e.id,
            e.code,
            e.name,
            e.status.value,
            e.legal_entity,
            e.currency,
            e.billing_model.value,
            e.opportunity.system,
            e.opportunity.external_id,
            e.customer_id,
            e.customer_matched_by,
            e.contract_value.amount,
            e.start_date,
            e.end_date,
            e.budget_hours,
            e.approved_hours,
            e.payment_terms_days,
            e.expense_markup_percent,
            e.completed_on,
            e.version,
            e.created_at,
            e.updated_at,
            e.terms_version,
            e.purchase_order_number,
        )
        if not added:
            return False
        await add_rate_card(self.conn, e.id, RateCard(1, e.start_date, tuple(e.rate_card)))
        await add_terms(
            self.conn,
            e.id,
            TermsVersion(1, e.start_date, "As won", "", e.contract_value, e.budget_hours,
                         e.end_date, 1, tuple(e.milestones), e.created_at),
        )  # fmt: skip
        if e.milestones:
            await self.conn.executemany(
                "INSERT INTO milestones (id, engagement_id, name, amount, due_date, status)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    (m.id, e.id, m.name, m.amount.amount, m.due_date, m.status.value)
                    for m in e.milestones
                ],
            )
        return True

    async def save_engagements(self, engagements: Sequence[Engagement]) -> None:
        await self.conn.execute(
            """UPDATE engagements e
                  SET status = u.status, completed_on = u.completed_on,
                      approved_hours = u.approved_hours, version = u.version,
                      updated_at = u.updated_at
                 FROM unnest($1::uuid[], $2::text[], $3::date[], $4::numeric[], $5::bigint[],
                             $6::timestamptz[])
                      AS u(id, status, completed_on, approved_hours, version, updated_at)
                WHERE e.id = u.id""",
            [e.id for e in engagements],
            [e.status.value for e in engagements],
            [e.completed_on for e in engagements],
            [e.approved_hours for e in engagements],
            [e.version for e in engagements],
            [e.updated_at for e in engagements],
        )

    async def save_purchase_order_number(self, e: Engagement) -> None:
        await self.conn.execute(
            """UPDATE engagements SET purchase_order_number = $2, version = $3, updated_at = $4
                WHERE id = $1""",
            e.id,
            e.purchase_order_number,
            e.version,
            e.updated_at,
        )
