"""Time entry and expense rows: batches go in and out as arrays (unnest), one statement each."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from decimal import Decimal

import asyncpg

from mesh.money import Money
from services.project.domain.expenses import Expense, ExpenseStatus
from services.project.domain.time import PersonDay, Rating, TimeEntry, TimeEntryStatus
from services.project.repository import ExternalKey, Lock
from services.project.store.rows import Rows, advisory_key

# Amounts are stored as numbers; the engagement's currency makes them Money.
_TIME = """SELECT t.id, t.engagement_id, t.person_id, t.role, t.service_date, t.hours, t.billable,
       t.status, t.description, t.external_id, t.bill_rate, t.cost_rate, t.bill_amount,
       t.cost_amount, t.rejection_reason, t.submitted_at, t.decided_at, e.currency
  FROM time_entries t JOIN engagements e ON e.id = t.engagement_id"""
_EXPENSE = """SELECT x.id, x.engagement_id, x.person_id, x.service_date, x.amount, x.category,
       x.billable, x.status, x.description, x.external_id, x.markup_percent, x.billable_amount,
       x.submitted_at, x.approved_at, e.currency
  FROM expenses x JOIN engagements e ON e.id = x.engagement_id"""


def _time_entry(r: asyncpg.Record) -> TimeEntry:
    rating = None
    if r["bill_amount"] is not None:
        rating = Rating(
            r["bill_rate"],
            r["cost_rate"],
            Money(r["bill_amount"], r["currency"]),
            Money(r["cost_amount"], r["currency"]),
        )
    return TimeEntry(
        id=r["id"],
        engagement_id=r["engagement_id"],
        person_id=r["person_id"],
        role=r["role"],
        date=r["service_date"],
        hours=r["hours"],
        billable=r["billable"],
        description=r["description"],
        external_id=r["external_id"],
        status=TimeEntryStatus(r["status"]),
        rating=rating,
        rejection_reason=r["rejection_reason"],
        submitted_at=r["submitted_at"],
        decided_at=r["decided_at"],
    )


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
    )


def _lock(lock: Lock, table: str) -> str:
    return f"{lock.value} OF {table}" if lock is not Lock.NONE else ""


class TimesheetRows(Rows):
    async def time_entries(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, TimeEntry]:
        rows = await self.conn.fetch(
            f"{_TIME} WHERE t.id = ANY($1::uuid[]) ORDER BY t.id {_lock(lock, 't')}", list(ids)
        )
        return {r["id"]: _time_entry(r) for r in rows}

    async def time_entries_by_external_id(
        self, keys: Collection[ExternalKey]
    ) -> dict[ExternalKey, TimeEntry]:
        # Two ANY lists on the unique (engagement, external id) index keep the plan an index
        # scan even when PostgreSQL reuses a generic plan made while the table was tiny; the
        # few pairs the lists admit beyond the wanted ones are dropped here.
        wanted = set(keys)
        rows = await self.conn.fetch(
            f"{_TIME} WHERE t.engagement_id = ANY($1::uuid[]) AND t.external_id = ANY($2::text[])",
            list({k[0] for k in wanted}),
            list({k[1] for k in wanted}),
        )
        found = {(r["engagement_id"], r["external_id"]): _time_entry(r) for r in rows}
        return {key: entry for key, entry in found.items() if key in wanted}

    async def lock_person_days(self, days: Collection[PersonDay]) -> None:
        await self.lock_keys([advisory_key("day", person, day.isoformat()) for person, day in days])

    async def recorded_hours(self, days: Collection[PersonDay]) -> dict[PersonDay, Decimal]:
        rows = await self.conn.fetch(
            """SELECT t.person_id, t.service_date, sum(t.hours) AS hours
                 FROM time_entries t
                 JOIN unnest($1::text[], $2::date[]) AS d(person_id, service_date)
                   ON (t.person_id, t.service_date) = (d.person_id, d.service_date)
                WHERE t.status <> 'REJECTED'
                GROUP BY t.person_id, t.service_date""",
            [d[0] for d in days],
            [d[1] for d in days],
        )
        return {(r["person_id"], r["service_date"]): r["hours"] for r in rows}

    async def add_time_entries(self, entries: Sequence[TimeEntry]) -> set[uuid.UUID]:
        """Inserts the batch in one statement; returns the ids stored (a concurrent twin with
        the same external id wins over ours)."""
        if not entries:
            return set()
        rows = await self.conn.fetch(
            """INSERT INTO time_entries (id, engagement_id, person_id, role, service_date, hours,
                                         billable, description, external_id, status, submitted_at)
               SELECT u.*, 'SUBMITTED', $10
                 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::date[],
                             $6::numeric[], $7::boolean[], $8::text[], $9::text[]) AS u
               ON CONFLICT (engagement_id, external_id) DO NOTHING
               RETURNING id""",
            [e.id for e in entries],
            [e.engagement_id for e in entries],
            [e.person_id for e in entries],
            [e.role for e in entries],
            [e.date for e in entries],
            [e.hours for e in entries],
            [e.billable for e in entries],
            [e.description for e in entries],
            [e.external_id for e in entries],
            entries[0].submitted_at,
        )
        return {r["id"] for r in rows}

    async def save_time_decisions(self, entries: Sequence[TimeEntry]) -> None:
        rated = [e.rating for e in entries]
        await self.conn.execute(
            """UPDATE time_entries t
                  SET status = u.status, bill_rate = u.bill_rate, cost_rate = u.cost_rate,
                      bill_amount = u.bill_amount, cost_amount = u.cost_amount,
                      rejection_reason = u.reason, decided_at = u.decided_at
                 FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::numeric[],
                             $5::numeric[], $6::numeric[], $7::text[], $8::timestamptz[])
                      AS u(id, status, bill_rate, cost_rate, bill_amount, cost_amount, reason,
                           decided_at)
                WHERE t.id = u.id""",
            [e.id for e in entries],
            [e.status.value for e in entries],
            [r.bill_rate if r else None for r in rated],
            [r.cost_rate if r else None for r in rated],
            [r.bill_amount.amount if r else None for r in rated],
            [r.cost_amount.amount if r else None for r in rated],
            [e.rejection_reason for e in entries],
            [e.decided_at for e in entries],
        )

    async def page_time_entries(
        self,
        engagement_id: uuid.UUID,
        status: TimeEntryStatus | None,
        *,
        after: tuple[dt.date, str, uuid.UUID] | None,
        limit: int,
    ) -> list[TimeEntry]:
        after_date, after_person, after_id = after if after else (None, None, None)
        rows = await self.conn.fetch(
            f"""{_TIME}
                WHERE t.engagement_id = $1 AND ($2::text IS NULL OR t.status = $2)
                  AND ($3::date IS NULL
                       OR (t.service_date, t.person_id, t.id) > ($3, $4::text, $5::uuid))
                ORDER BY t.service_date, t.person_id, t.id
                LIMIT $6""",
            engagement_id,
            status.value if status else None,
            after_date,
            after_person,
            after_id,
            limit,
        )
        return [_time_entry(r) for r in rows]

    async def expenses(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, Expense]:
        rows = await self.conn.fetch(
            f"{_EXPENSE} WHERE x.id = ANY($1::uuid[]) ORDER BY x.id {_lock(lock, 'x')}", list(ids)
        )
        return {r["id"]: _expense(r) for r in rows}

    async def expense_by_external_id(self, key: ExternalKey) -> Expense | None:
        row = await self.conn.fetchrow(
            f"{_EXPENSE} WHERE x.engagement_id = $1 AND x.external_id = $2", *key
        )
        return _expense(row) if row else None

    async def add_expense(self, x: Expense) -> bool:
        added = await self.conn.fetchval(
            """INSERT INTO expenses (id, engagement_id, person_id, service_date, amount, category,
                                     billable, status, description, external_id, submitted_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (engagement_id, external_id) DO NOTHING
               RETURNING true""",
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
        return bool(added)

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
