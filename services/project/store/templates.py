"""Engagement templates: one row each, the rate card and milestone plan as JSON arrays."""

from __future__ import annotations

import json
from collections.abc import Collection
from decimal import Decimal

import asyncpg

from services.project.domain.model import BillingModel, RateCardLine
from services.project.domain.templates import EngagementTemplate, MilestoneShare
from services.project.store.rows import Rows

_COLUMNS = """code, name, billing_model, rate_card, milestone_plan, payment_terms_days,
    expense_markup_percent, updated_at"""


def _template(row: asyncpg.Record) -> EngagementTemplate:
    card = json.loads(row["rate_card"])
    plan = json.loads(row["milestone_plan"])
    return EngagementTemplate(
        code=row["code"],
        name=row["name"],
        billing_model=BillingModel(row["billing_model"]),
        rate_card=[
            RateCardLine(x["role"], Decimal(x["bill_rate"]), Decimal(x["cost_rate"])) for x in card
        ],
        milestone_plan=[
            MilestoneShare(m["name"], Decimal(m["percent"]), m["due_days_after_start"])
            for m in plan
        ],
        payment_terms_days=row["payment_terms_days"],
        expense_markup_percent=row["expense_markup_percent"],
        updated_at=row["updated_at"],
    )


class TemplateRows(Rows):
    async def templates(self, codes: Collection[str] | None = None) -> list[EngagementTemplate]:
        """The templates with these codes (every template when None), by code."""
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM engagement_templates
                 WHERE $1::text[] IS NULL OR code = ANY($1) ORDER BY code""",
            None if codes is None else list(codes),
        )
        return [_template(r) for r in rows]

    async def save_template(self, t: EngagementTemplate) -> None:
        card = [
            {"role": x.role, "bill_rate": str(x.bill_rate), "cost_rate": str(x.cost_rate)}
            for x in t.rate_card
        ]
        plan = [
            {
                "name": m.name,
                "percent": str(m.percent),
                "due_days_after_start": m.due_days_after_start,
            }
            for m in t.milestone_plan
        ]
        await self.conn.execute(
            f"""INSERT INTO engagement_templates ({_COLUMNS})
                VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)
                ON CONFLICT (code) DO UPDATE
                  SET name = excluded.name, billing_model = excluded.billing_model,
                      rate_card = excluded.rate_card, milestone_plan = excluded.milestone_plan,
                      payment_terms_days = excluded.payment_terms_days,
                      expense_markup_percent = excluded.expense_markup_percent,
                      updated_at = excluded.updated_at""",
            t.code,
            t.name,
            t.billing_model.value,
            json.dumps(card),
            json.dumps(plan),
            t.payment_terms_days,
            t.expense_markup_percent,
            t.updated_at,
        )
