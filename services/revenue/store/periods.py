"""Periods and ledgers: what is closed per legal entity, closing, and the period list."""

from __future__ import annotations

import asyncpg

from services.revenue.domain.periods import Ledger, Period, PeriodState, PeriodStatus
from services.revenue.store.rows import Rows


def ledger_of(legal_entity: str, closed_through: str | None) -> Ledger:
    return Ledger(legal_entity, Period.parse(closed_through) if closed_through else None)


_PERIODS = "SELECT legal_entity, period, status, closed_at, version FROM periods"


def _period_state(row: asyncpg.Record) -> PeriodState:
    return PeriodState(
        legal_entity=row["legal_entity"],
        period=Period.parse(row["period"]),
        status=PeriodStatus(row["status"]),
        closed_at=row["closed_at"],
        version=row["version"],
    )


class PeriodRows(Rows):
    async def periods_page(
        self, legal_entity: str, *, before: Period | None, limit: int
    ) -> list[PeriodState]:
        rows = await self.conn.fetch(
            f"""{_PERIODS} WHERE legal_entity = $1 AND ($2::text IS NULL OR period < $2)
                ORDER BY period DESC LIMIT $3""",
            legal_entity,
            str(before) if before else None,
            limit,
        )
        return [_period_state(row) for row in rows]

    async def lock_ledger(self, legal_entity: str) -> Ledger:
        await self.conn.execute(
            "INSERT INTO ledgers (legal_entity) VALUES ($1) ON CONFLICT DO NOTHING", legal_entity
        )
        closed_through = await self.conn.fetchval(
            "SELECT closed_through FROM ledgers WHERE legal_entity = $1 FOR UPDATE", legal_entity
        )
        return ledger_of(legal_entity, closed_through)

    async def closed_through(self, legal_entity: str) -> Period | None:
        """The last closed period of the entity (no lock: closing is final)."""
        found = await self.conn.fetchval(
            "SELECT closed_through FROM ledgers WHERE legal_entity = $1", legal_entity
        )
        return Period.parse(found) if found else None

    async def period(self, legal_entity: str, period: Period) -> PeriodState | None:
        row = await self.conn.fetchrow(
            f"{_PERIODS} WHERE legal_entity = $1 AND period = $2", legal_entity, str(period)
        )
        return _period_state(row) if row else None

    async def earliest_open_period(self, legal_entity: str) -> Period | None:
        found = await self.conn.fetchval(
            "SELECT min(period) FROM periods WHERE legal_entity = $1 AND status = 'OPEN'",
            legal_entity,
        )
        return Period.parse(found) if found else None

    async def close(self, ledger: Ledger, state: PeriodState) -> None:
        await self.conn.execute(
            """INSERT INTO periods (legal_entity, period, status, closed_at, version)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (legal_entity, period) DO UPDATE
                  SET status = $3, closed_at = $4, version = $5""",
            state.legal_entity,
            str(state.period),
            state.status.value,
            state.closed_at,
            state.version,
        )
        await self.conn.execute(
            "UPDATE ledgers SET closed_through = $2 WHERE legal_entity = $1",
            ledger.legal_entity,
            str(ledger.closed_through),
        )
