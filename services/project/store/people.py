"""People rows, and the hours they recorded over a date range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import asyncpg

from services.project.domain.people import Person
from services.project.handlers import RecordedTime
from services.project.store.rows import Rows

_COLUMNS = "id, name, home_entity, weekly_capacity_hours, version, created_at, updated_at"


def _person(r: asyncpg.Record) -> Person:
    return Person(
        id=r["id"],
        name=r["name"],
        home_entity=r["home_entity"],
        weekly_capacity_hours=r["weekly_capacity_hours"],
        version=r["version"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


class PeopleRows(Rows):
    async def person(self, person_id: str, *, for_update: bool = False) -> Person | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM people WHERE id = $1{lock}", person_id
        )
        return _person(row) if row else None

    async def known_people(self, ids: Collection[str]) -> set[str]:
        rows = await self.conn.fetch("SELECT id FROM people WHERE id = ANY($1::text[])", list(ids))
        return {r["id"] for r in rows}

    async def add_person(self, p: Person) -> bool:
        added = await self.conn.fetchval(
            f"""INSERT INTO people ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO NOTHING RETURNING true""",
            p.id,
            p.name,
            p.home_entity,
            p.weekly_capacity_hours,
            p.version,
            p.created_at,
            p.updated_at,
        )
        return bool(added)

    async def update_person(self, p: Person) -> None:
        await self.conn.execute(
            """UPDATE people SET name = $2, home_entity = $3, weekly_capacity_hours = $4,
                      version = $5, updated_at = $6
                WHERE id = $1""",
            p.id,
            p.name,
            p.home_entity,
            p.weekly_capacity_hours,
            p.version,
            p.updated_at,
        )

    async def page_people(
        self, home_entity: str | None, *, after: tuple[str, str] | None, limit: int
    ) -> list[Person]:
        after_name, after_id = after if after else (None, None)
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM people
                 WHERE ($1::text IS NULL OR home_entity = $1)
                   AND ($2::text IS NULL OR (name, id) > ($2, $3::text))
                 ORDER BY name, id LIMIT $4""",
            home_entity,
            after_name,
            after_id,
            limit,
        )
        return [_person(r) for r in rows]

    async def utilization(
        self,
        start: dt.date,
        end: dt.date,
        home_entity: str | None,
        *,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[RecordedTime]:
        after_name, after_id = after if after else (None, None)
        # A page of people, each summing its own days through the (person, day) index.
        rows = await self.conn.fetch(
            f"""SELECT {", ".join(f"p.{c}" for c in _COLUMNS.split(", "))},
                       coalesce(h.approved, 0) AS approved, coalesce(h.billable, 0) AS billable,
                       coalesce(h.submitted, 0) AS submitted
                  FROM people p
                  LEFT JOIN LATERAL (
                       SELECT sum(t.hours) FILTER (WHERE t.status = 'APPROVED') AS approved,
                              sum(t.hours) FILTER (WHERE t.status = 'APPROVED' AND t.billable)
                                  AS billable,
                              sum(t.hours) FILTER (WHERE t.status = 'SUBMITTED') AS submitted
                         FROM time_entries t
                        WHERE t.person_id = p.id AND t.status <> 'REJECTED'
                          AND t.service_date BETWEEN $1 AND $2) h ON true
                 WHERE ($3::text IS NULL OR p.home_entity = $3)
                   AND ($4::text IS NULL OR (p.name, p.id) > ($4, $5::text))
                 ORDER BY p.name, p.id LIMIT $6""",
            start,
            end,
            home_entity,
            after_name,
            after_id,
            limit,
        )
        return [
            RecordedTime(_person(r), r["approved"], r["billable"], r["submitted"]) for r in rows
        ]
