"""Time entry rows: batches go in and out as arrays (unnest), one statement each."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from decimal import Decimal

import asyncpg

from mesh.money import Money
from services.project.domain.time import PersonDay, Rating, TimeEntry, TimeEntryStatus
from services.project.handlers import ExternalKey, Lock
from services.project.store.rows import Rows, advisory_key, lock_clause

# Amounts are stored as numbers; the engagement's currency makes them Money.
_TIME = """SELECT t.id, t.engagement_id, t.person_id, t.role, t.service_date, t.hours, t.billable,
       t.status, t.description, t.external_id, t.bill_rate, t.cost_rate, t.bill_amount,
       t.cost_amount, t.rejection_reason, t.submitted_at, t.decided_at, t.corrects,
       t.correction_reason, e.currency
  FROM time_entries t JOIN engagements e ON e.id = t.engagement_id"""


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
        corrects=r["corrects"],
        correction_reason=r["correction_reason"],
    )


class TimeRows(Rows):
    async def time_entries(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, TimeEntry]:
        rows = await self.conn.fetch(
            f"{_TIME} WHERE t.id = ANY($1::uuid[]) ORDER BY t.id {lock_clause(lock, 't')}",
            list(ids),
        )
        return {r["id"]: _time_entry(r) for r in rows}

    async def time_entries_by_external_id(
        self, keys: Collection[ExternalKey], *, lock: Lock = Lock.NONE
    ) -> dict[ExternalKey, TimeEntry]:
        # Two ANY lists on the unique (engagement, external id) index keep the plan an index
        # scan even when PostgreSQL reuses a generic plan made while the table was tiny; the
        # few pairs the lists admit beyond the wanted ones are dropped here (and locked with
        # them, harmlessly: the submission's advisory locks already order such writers).
        wanted = set(keys)
        rows = await self.conn.fetch(
            f"""{_TIME} WHERE t.engagement_id = ANY($1::uuid[]) AND t.external_id = ANY($2::text[])
                ORDER BY t.id {lock_clause(lock, "t")}""",
            list({k[0] for k in wanted}),
            list({k[1] for k in wanted}),
        )
        found = {(r["engagement_id"], r["external_id"]): _time_entry(r) for r in rows}
        return {key: entry for key, entry in found.items() if key in wanted}

    async def lock_submission(
        self, days: Collection[PersonDay], external_ids: Collection[tuple[str, ExternalKey]]
    ) -> None:
        await self.lock_keys(
            [advisory_key("day", person, day.isoformat()) for person, day in days]
            + [advisory_key(kind, str(e), x) for kind, (e, x) in external_ids]
        )

    async def recorded_hours(
        self, days: Collection[PersonDay], *, excluding: Collection[uuid.UUID] = ()
    ) -> dict[PersonDay, Decimal]:
        rows = await self.conn.fetch(
            """SELECT t.person_id, t.service_date, sum(t.hours) AS hours
                 FROM time_entries t
                 JOIN unnest($1::text[], $2::date[]) AS d(person_id, service_date)
                   ON (t.person_id, t.service_date) = (d.person_id, d.service_date)
                WHERE t.status <> 'REJECTED' AND t.id <> ALL($3::uuid[])
                GROUP BY t.person_id, t.service_date""",
            [d[0] for d in days],
            [d[1] for d in days],
            list(excluding),
        )
        return {(r["person_id"], r["service_date"]): r["hours"] for r in rows}

    async def add_time_entries(self, entries: Sequence[TimeEntry]) -> None:
        """Inserts the batch in one statement (its external ids are locked and new)."""
        if not entries:
            return
        await self.conn.execute(
            """INSERT INTO time_entries (id, engagement_id, person_id, role, service_date, hours,
                                         billable, description, external_id, status, submitted_at)
               SELECT u.*, 'SUBMITTED', $10
                 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::date[],
                             $6::numeric[], $7::boolean[], $8::text[], $9::text[]) AS u""",
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

    async def replace_time_entries(self, entries: Sequence[TimeEntry]) -> None:
        """The PSA's corrections of SUBMITTED entries (locked by the caller)."""
        if not entries:
            return
        await self.conn.execute(
            """UPDATE time_entries t
                  SET person_id = u.person_id, role = u.role, service_date = u.service_date,
                      hours = u.hours, billable = u.billable, description = u.description
                 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::numeric[],
                             $6::boolean[], $7::text[])
                      AS u(id, person_id, role, service_date, hours, billable, description)
                WHERE t.id = u.id AND t.status = 'SUBMITTED'""",
            [e.id for e in entries],
            [e.person_id for e in entries],
            [e.role for e in entries],
            [e.date for e in entries],
            [e.hours for e in entries],
            [e.billable for e in entries],
            [e.description for e in entries],
        )

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
