"""Versions of an engagement's terms: rate-card versions, the engagement_terms rows, and an
amendment written in one go."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from mesh.money import Money
from services.project.domain.amendments import Amendment
from services.project.domain.model import Engagement, Milestone, MilestoneStatus, RateCardLine
from services.project.domain.versions import RateCard, TermsVersion
from services.project.store.rows import Rows


def plan_json(milestones: Sequence[Milestone]) -> str:
    return json.dumps(
        [
            {
                "id": str(m.id),
                "name": m.name,
                "amount": str(m.amount.amount),
                "due_date": m.due_date.isoformat(),
                "status": m.status.value,
                "completed_on": m.completed_on.isoformat() if m.completed_on else None,
            }
            for m in milestones
        ]
    )


def _plan(engagement_id: uuid.UUID, raw: Any, currency: str) -> tuple[Milestone, ...]:
    items = json.loads(raw) if isinstance(raw, str) else raw
    return tuple(
        Milestone(
            uuid.UUID(m["id"]),
            engagement_id,
            m["name"],
            Money(Decimal(m["amount"]), currency),
            dt.date.fromisoformat(m["due_date"]),
            MilestoneStatus(m["status"]),
            dt.date.fromisoformat(m["completed_on"]) if m.get("completed_on") else None,
        )
        for m in items
    )


async def rate_cards(
    conn: asyncpg.Connection, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[RateCard]]:
    """Every version of each engagement's rate card, oldest first."""
    lines: dict[tuple[uuid.UUID, int, dt.date], list[RateCardLine]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT engagement_id, card_version, effective_date, role, bill_rate, cost_rate"
        " FROM rate_card_lines WHERE engagement_id = ANY($1::uuid[])"
        " ORDER BY engagement_id, card_version, position",
        ids,
    ):
        key = (r["engagement_id"], r["card_version"], r["effective_date"])
        lines[key].append(RateCardLine(r["role"], r["bill_rate"], r["cost_rate"]))
    cards: dict[uuid.UUID, list[RateCard]] = defaultdict(list)
    for (engagement_id, version, effective), card in lines.items():
        cards[engagement_id].append(RateCard(version, effective, tuple(card)))
    return cards


async def amendments(
    conn: asyncpg.Connection, ids: list[uuid.UUID], currency: dict[uuid.UUID, str]
) -> dict[uuid.UUID, list[TermsVersion]]:
    """Each engagement's terms versions, oldest first (1, as won, only once amended)."""
    found: dict[uuid.UUID, list[TermsVersion]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT t.* FROM engagement_terms t JOIN engagements e ON e.id = t.engagement_id
            WHERE t.engagement_id = ANY($1::uuid[]) AND e.terms_version > 1
            ORDER BY t.engagement_id, t.version""",
        ids,
    ):
        engagement_id = r["engagement_id"]
        found[engagement_id].append(
            TermsVersion(
                version=r["version"],
                effective_date=r["effective_date"],
                reason=r["reason"],
                actor=r["actor"],
                contract_value=Money(r["contract_value"], currency[engagement_id]),
                budget_hours=r["budget_hours"],
                end_date=r["end_date"],
                rate_card_version=r["rate_card_version"],
                milestones=_plan(engagement_id, r["milestones"], currency[engagement_id]),
                created_at=r["created_at"],
            )
        )
    return found


async def add_rate_card(conn: asyncpg.Connection, engagement_id: uuid.UUID, card: RateCard) -> None:
    await conn.executemany(
        "INSERT INTO rate_card_lines (engagement_id, position, role, bill_rate, cost_rate,"
        " card_version, effective_date) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (engagement_id, i, x.role, x.bill_rate, x.cost_rate, card.version, card.effective_date)
            for i, x in enumerate(card.lines)
        ],
    )


async def add_terms(conn: asyncpg.Connection, engagement_id: uuid.UUID, t: TermsVersion) -> None:
    await conn.execute(
        """INSERT INTO engagement_terms (engagement_id, version, effective_date, reason, actor,
               contract_value, budget_hours, end_date, rate_card_version, milestones, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)""",
        engagement_id,
        t.version,
        t.effective_date,
        t.reason,
        t.actor,
        t.contract_value.amount,
        t.budget_hours,
        t.end_date,
        t.rate_card_version,
        plan_json(t.milestones),
        t.created_at,
    )


class AmendmentRows(Rows):
    async def save_amendment(self, e: Engagement, amendment: Amendment) -> None:
        """The terms in force, the new card, the re-planned milestones and the version row."""
        await self.conn.execute(
            """UPDATE engagements SET contract_value = $2, budget_hours = $3, end_date = $4,
                      terms_version = $5, version = $6, updated_at = $7
                WHERE id = $1""",
            e.id,
            e.contract_value.amount,
            e.budget_hours,
            e.end_date,
            e.terms_version,
            e.version,
            e.updated_at,
        )
        if amendment.new_card is not None:
            await add_rate_card(self.conn, e.id, amendment.new_card)
        if amendment.removed:
            await self.conn.execute(
                "DELETE FROM milestones WHERE id = ANY($1::uuid[]) AND status = 'PLANNED'",
                list(amendment.removed),
            )
        planned = [m for m in e.milestones if m.status is MilestoneStatus.PLANNED]
        if planned:
            await self.conn.executemany(
                """INSERT INTO milestones (id, engagement_id, name, amount, due_date, status)
                   VALUES ($1, $2, $3, $4, $5, 'PLANNED')
                   ON CONFLICT (id) DO UPDATE SET name = excluded.name, amount = excluded.amount,
                          due_date = excluded.due_date""",
                [(m.id, e.id, m.name, m.amount.amount, m.due_date) for m in planned],
            )
        await add_terms(self.conn, e.id, amendment.terms)
