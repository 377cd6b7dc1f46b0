"""All SQL of the revenue service (asyncpg), behind the repository protocols of handlers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from mesh.events.outbox import add_events
from services.revenue.convert.events import to_outgoing
from services.revenue.handlers import RevenueEvent
from services.revenue.store.contracts import ContractRows
from services.revenue.store.periods import PeriodRows
from services.revenue.store.reports import ReportRows


class RevenueStore(ContractRows, PeriodRows, ReportRows):
    """A repository bound to one connection inside the caller's transaction (a use case's,
    or a consumer's batch)."""

    async def lock_engagement(self, engagement_id: uuid.UUID) -> None:
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 0))", engagement_id
        )

    async def lock_engagements(self, ids: Sequence[uuid.UUID]) -> None:
        """lock_engagement for each, one after the other in the order given, in one statement
        (the function scan yields the array's elements in order)."""
        await self.conn.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(e::text, 0)))"
            " FROM unnest($1::uuid[]) AS e",
            list(ids),
        )

    async def emit(self, outgoing: Sequence[RevenueEvent]) -> None:
        await add_events(self.conn, source="revenue", events=[to_outgoing(e) for e in outgoing])
