"""All SQL of the project service (asyncpg), behind the ProjectRepository protocol."""

from __future__ import annotations

from collections.abc import Sequence

from mesh.events.outbox import add_events
from services.project.events import to_outgoing
from services.project.repository import KeptResponse, ProjectEvent
from services.project.store.engagements import EngagementRows
from services.project.store.people import PeopleRows
from services.project.store.timesheets import TimesheetRows


class ProjectStore(EngagementRows, TimesheetRows, PeopleRows):
    """A repository bound to one connection inside the caller's transaction."""

    async def emit(self, events: Sequence[ProjectEvent]) -> None:
        await add_events(self.conn, source="project", events=[to_outgoing(e) for e in events])

    async def claim_request(self, method: str, key: str, fingerprint: bytes) -> KeptResponse | None:
        """None when this transaction claimed the key; else what its first request kept. A
        concurrent first request holds the key until it commits, so a retry waits for it."""
        claimed = await self.conn.fetchval(
            "INSERT INTO kept_responses (method, key, fingerprint) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            method,
            key,
            fingerprint,
        )
        if claimed:
            return None
        row = await self.conn.fetchrow(
            "SELECT fingerprint, response FROM kept_responses WHERE method = $1 AND key = $2",
            method,
            key,
        )
        assert row is not None and row["response"] is not None, "kept with its claim"
        return KeptResponse(row["fingerprint"], row["response"])

    async def keep_response(self, method: str, key: str, response: bytes) -> None:
        await self.conn.execute(
            "UPDATE kept_responses SET response = $3 WHERE method = $1 AND key = $2",
            method,
            key,
            response,
        )
