"""The audit row, written in the transaction of the change it records."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from mesh.audit.scope import AuditScope, acting, service_actor

_INSERT = (
    "INSERT INTO audit_log"
    " (actor, on_behalf_of, operation, targets, engagement_ids, request_id, event_id)"
    " SELECT $1::text, $2::text, $3::text, $4::text[], $5::text[], $6::text, $7::uuid"
)
# A transaction that wrote nothing has no transaction id: a read, or a retry answered from
# what is kept, records nothing.
_IF_WRITTEN = " WHERE pg_current_xact_id_if_assigned() IS NOT NULL"


async def record(conn: asyncpg.Connection, scope: AuditScope, *, always: bool = False) -> None:
    """One audit row for the work of `scope` in this transaction; unless `always`, only when
    the transaction changed something."""
    await conn.execute(
        _INSERT if always else _INSERT + _IF_WRITTEN,
        scope.actor,
        scope.on_behalf_of,
        scope.operation,
        scope.row_targets(),
        scope.row_engagements(),
        scope.request_id,
        scope.event_id,
    )


@contextlib.asynccontextmanager
async def audited_work(
    conn: asyncpg.Connection, service: str, operation: str
) -> AsyncIterator[AuditScope]:
    """A service's own work outside any call or event (a worker's batch), inside the caller's
    transaction: acts as `service:<service>` (so its gRPC calls and events say so) and records
    one row when the transaction wrote something."""
    with acting(AuditScope(actor=service_actor(service), operation=operation)) as scope:
        yield scope
        await record(conn, scope)
