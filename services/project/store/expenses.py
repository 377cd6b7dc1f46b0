"""Expense rows."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence

import asyncpg

from mesh.money import Money
from services.project.domain.expenses import Expense, ExpenseStatus
from services.project.handlers import ExternalKey, Lock
from services.project.store.rows import Rows, lock_clause

_EXPENSE = """SELECT x.id, x.engagement_id, x.person_id, x.service_date, x.amount, x.category,
       x.billable, x.status, x.description, x.external_id, x.markup_percent, x.billable_amount,
       x.submitted_at, x.approved_at, x.rejection_reason, x.rejected_at, e.currency
  FROM expenses x JOIN engagements e ON e.id = x.engagement_id"""


def _expense(r: asyncpg.Record) -> Expense:
    billable = r["billable_amount"]
    return Expense(
        id=r["id"],
        engagement_id=r["engagement_id"],
        person_id=r["person_id"],
        date=r["service_date"],
        amount=Money(r["amount"], r["currency"]),
        category=r["category"],
        billable=r["billable"],
        description=r["description"],
        external_id=r["external_id"],
        status=ExpenseStatus(r["status"]),
        markup_percent=r["markup_percent"],
        billable_amount=Money(billable, r["currency"]) if billable is not None else None,
        submitted_at=r["submitted_at"],
        approved_at=r["approved_at"],
        rejection_reason=r["rejection_reason"],
        rejected_at=r["rejected_at"],
    )


class ExpenseRows(Rows):
    async def expenses(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, Expense]:
        rows = await self.conn.fetch(
            f"{_EXPENSE} WHERE x.id = ANY($1::uuid[]) ORDER BY x.id {lock_clause(lock, 'x')}",
            list(ids),
        )
        return {r["id"]: _expense(r) for r in rows}

    async def expense_by_external_id(
        self, key: ExternalKey, *, lock: Lock = Lock.NONE
    ) -> Expense | None:
        row = await self.conn.fetchrow(
            f"{_EXPENSE} WHERE x.engagement_id = $1 AND x.external_id = $2"
            f" {lock_clause(lock, 'x')}",
            *key,
        )
        return _expense(row) if row else None

    async def add_expense(self, x: Expense) -> None:
        await self.conn.execute(
            """INSERT INTO expenses (id, engagement_id, person_id, service_date, amount, category,
                                     billable, status, description, external_id, submitted_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            x.id,
            x.engagement_id,
            x.person_id,
            x.date,
            x.amount.amount,
            x.category,
            x.billable,
            x.status.value,
            x.description,
            x.external_id,
            x.submitted_at,
        )

    async def replace_expense(self, x: Expense) -> None:
        """The PSA's correction of a SUBMITTED expense (locked by the caller)."""
        await self.conn.execute(
            """UPDATE expenses SET person_id = $2, service_date = $3, amount = $4, category = $5,
                      billable = $6, description = $7
                WHERE id = $1 AND status = 'SUBMITTED'""",
            x.id,
            x.person_id,
            x.date,
            x.amount.amount,
            x.category,
            x.billable,
            x.description,
        )

    async def save_expense_approvals(self, expenses: Sequence[Expense]) -> None:
        await self.conn.execute(
            """UPDATE expenses x
                  SET status = 'APPROVED', markup_percent = u.markup,
                      billable_amount = u.billable_amount, approved_at = u.approved_at
                 FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::timestamptz[])
                      AS u(id, markup, billable_amount, approved_at)
                WHERE x.id = u.id""",
            [x.id for x in expenses],
            [x.markup_percent for x in expenses],
            [x.billable_amount.amount if x.billable_amount else None for x in expenses],
            [x.approved_at for x in expenses],
        )

    async def save_expense_rejections(self, expenses: Sequence[Expense]) -> None:
        await self.conn.execute(
            """UPDATE expenses x
                  SET status = 'REJECTED', rejection_reason = u.reason, rejected_at = u.at
                 FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(id, reason, at)
                WHERE x.id = u.id""",
            [x.id for x in expenses],
            [x.rejection_reason for x in expenses],
            [x.rejected_at for x in expenses],
        )

    async def page_expenses(
        self,
        engagement_id: uuid.UUID,
        status: ExpenseStatus | None,
        *,
        after: tuple[dt.date, uuid.UUID] | None,
        limit: int,
    ) -> list[Expense]:
        after_date, after_id = after if after else (None, None)
        rows = await self.conn.fetch(
            f"""{_EXPENSE}
                WHERE x.engagement_id = $1 AND ($2::text IS NULL OR x.status = $2)
                  AND ($3::date IS NULL OR (x.service_date, x.id) > ($3, $4::uuid))
                ORDER BY x.service_date, x.id
                LIMIT $5""",
            engagement_id,
            status.value if status else None,
            after_date,
            after_id,
            limit,
        )
        return [_expense(r) for r in rows]
