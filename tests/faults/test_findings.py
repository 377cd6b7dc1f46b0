"""What the fault suite found, each as a minimal test of the behaviour we want; each failed
before its fix (docs/faults.md, "Findings"). Finding 3 is tested in tests/integration/
test_process.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import nats
import pytest

from mesh.events.streams import ensure_stream
from mesh.grpc.errors import _guard
from services.revenue.domain.facts import BillingModel
from services.revenue.main import SPEC as REVENUE
from tests.conftest import Stack
from tests.support import eventually, publish_event, serving, settings_for
from tests.unit.revenue_fakes import Engagement


async def test_two_revenue_replicas_apply_a_backlog_without_deadlocking(
    stack: Stack, module_nats: str, tmp_path: Path
) -> None:
    """Each replica applies a fetched batch of up to 256 events in one transaction, in arrival
    order. Unless a batch locks its engagements up front in one order, two replicas whose
    batches hold the same engagements in different orders deadlock; after in_transaction's
    retries the whole batch is nak'ed and comes back."""
    settings, _ = settings_for(stack.database_url, module_nats, tmp_path)
    engagements = [Engagement(BillingModel.TIME_AND_MATERIALS) for _ in range(10)]
    rng = random.Random(7)
    client = await nats.connect(module_nats)
    js = client.jetstream()
    await ensure_stream(js, "project")
    async with serving(REVENUE, settings):
        for e in engagements:
            await _publish(js, *e.activated())
        await eventually(lambda: _drained(js), what="the contracts to be set up")
    day = dt.date(2025, 2, 3)
    for n in range(300):  # a backlog, so that both replicas start with a full batch
        approval = rng.choice(engagements).time((f"t{n}", day, "1", "100", "50", True))
        await _publish(js, *approval)
    async with serving(REVENUE, settings), serving(REVENUE, settings):
        await eventually(
            lambda: _drained(js), within=120, interval=0.2, what="both replicas to drain"
        )
    await client.close()
    db = settings.database_url_for("revenue")
    assert await _deadlocks(db) == 0


async def _publish(js: Any, subject: str, message: Any) -> None:
    await publish_event(
        js,
        service="project",
        subject=subject,
        aggregate_id=message.engagement_id,
        aggregate_version=message.version,
        message=message,
    )


async def _drained(js: Any) -> bool:
    info = await js.consumer_info("PROJECT", "revenue-project")
    return not info.num_pending and not info.num_ack_pending


async def _deadlocks(dsn: str) -> int:
    """Deadlocks PostgreSQL detected in the database, once its sessions are gone (a session
    reports its statistics for sure when it ends)."""
    conn = await asyncpg.connect(dsn)
    try:
        await eventually(
            lambda: conn.fetchval(
                "SELECT count(*) = 0 FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ),
            what="the replicas' sessions to end",
        )
        await asyncio.sleep(0)
        found: int = await conn.fetchval(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        )
        return found
    finally:
        await conn.close()


class _Context:
    """What the error mapping needs of a grpc.aio servicer context."""

    code: grpc.StatusCode | None = None

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    ],
)
async def test_a_database_restarting_is_unavailable_not_internal(error: Exception) -> None:
    """While PostgreSQL restarts or shuts down, a call fails with a server error, not a broken
    connection; a retry cures it, so it is UNAVAILABLE, as the error mapping intends."""

    async def handler(request: object, context: object) -> None:
        raise error

    context = _Context()
    await _guard(handler, "/weftwork.test.v1.Test/Call")(None, context)
    assert context.code == grpc.StatusCode.UNAVAILABLE
