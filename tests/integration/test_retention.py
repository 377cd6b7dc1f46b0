"""Retention on a real PostgreSQL: old published outbox rows, inbox rows and idempotency keys
go in bounded batches; unpublished rows, new rows, the timeline and the audit log stay."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from mesh.metrics import ServiceMetrics
from mesh.retention import Pruner, rules
from mesh.retention_settings import RetentionSettings
from tests.support import eventually

OLD, NEW = "now() - interval '2 hours'", "now()"
HOUR = RetentionSettings(3600.0, 3600.0, 3600.0, 300.0, 7)


async def _outbox(conn: asyncpg.Connection, n: int, *, created: str, published: str | None) -> None:
    await conn.execute(
        "INSERT INTO outbox (id, subject, aggregate_id, aggregate_version, payload, headers,"
        f" created_at, published_at) SELECT gen_random_uuid(), 's', 'a', g, '', '{{}}',"
        f" {created}, {published or 'NULL'} FROM generate_series(1, $1) g",
        n,
    )


async def _inbox(conn: asyncpg.Connection, n: int, *, at: str) -> None:
    await conn.execute(
        "INSERT INTO inbox (consumer, event_id, processed_at)"
        f" SELECT 'c', gen_random_uuid(), {at} FROM generate_series(1, $1)",
        n,
    )


async def _keys(conn: asyncpg.Connection, n: int, *, at: str) -> None:
    await conn.execute(
        "INSERT INTO idempotent_requests (method, key, fingerprint, response, created_at)"
        f" SELECT 'm', gen_random_uuid()::text, '', '', {at} FROM generate_series(1, $1)",
        n,
    )


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        "published": await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
        ),
        "unpublished": await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        ),
        "inbox": await conn.fetchval("SELECT count(*) FROM inbox"),
        "keys": await conn.fetchval("SELECT count(*) FROM idempotent_requests"),
        "lineage": await conn.fetchval("SELECT count(*) FROM lineage"),
    }


async def test_old_published_rows_go_in_batches_and_the_rest_stays(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn:
        await _outbox(conn, 20, created=OLD, published=OLD)  # pruned
        await _outbox(conn, 3, created=OLD, published=NEW)  # published recently: kept
        await _outbox(conn, 4, created=OLD, published=None)  # never published: kept for good
        await _inbox(conn, 16, at=OLD)
        await _inbox(conn, 2, at=NEW)
        await _keys(conn, 9, at=OLD)
        await _keys(conn, 1, at=NEW)
        await conn.execute(
            "INSERT INTO lineage (event_id, seq, engagement_id, subject, source, aggregate_id,"
            " aggregate_version, created_at) SELECT id, seq, 'e', subject, 'src', aggregate_id,"
            " aggregate_version, created_at FROM outbox"
        )
    metrics = ServiceMetrics()
    pruner = Pruner(events_db, HOUR, metrics=metrics)
    assert await pruner.prune_once() == {"outbox": 20, "inbox": 16, "idempotent_requests": 9}
    async with events_db.acquire() as conn:
        assert await _counts(conn) == {
            "published": 3, "unpublished": 4, "inbox": 2, "keys": 1, "lineage": 27,
        }  # fmt: skip
    pruned = metrics.registry.get_sample_value
    assert pruned("weftwork_retention_pruned_rows_total", {"table": "outbox"}) == 20
    assert pruned("weftwork_retention_pruned_rows_total", {"table": "inbox"}) == 16
    assert await pruner.prune_once() == {"outbox": 0, "inbox": 0, "idempotent_requests": 0}


async def test_a_batch_deletes_at_most_batch_rows(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn:
        await _inbox(conn, 10, at=OLD)
    pruner = Pruner(events_db, HOUR)
    [inbox] = [r for r in rules(HOUR) if r.table == "inbox"]
    async with events_db.acquire() as conn:
        status = await conn.execute(inbox.statement(), inbox.window_seconds, 7)
        assert status == "DELETE 7"
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 3
    assert (await pruner.prune_once())["inbox"] == 3


async def test_a_row_in_use_is_skipped_not_waited_for(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn:
        await _inbox(conn, 3, at=OLD)
        locked = await conn.fetchval("SELECT event_id FROM inbox LIMIT 1")
    async with events_db.acquire() as locker, locker.transaction():
        await locker.execute("SELECT 1 FROM inbox WHERE event_id = $1 FOR UPDATE", locked)
        done = await asyncio.wait_for(Pruner(events_db, HOUR).prune_once(), 10)
        assert done["inbox"] == 2  # the locked row is left for the next pass
    async with events_db.acquire() as conn:
        assert await conn.fetchval("SELECT event_id FROM inbox") == locked


async def test_the_background_task_prunes_until_stopped(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn:
        await _inbox(conn, 5, at=OLD)
    stop = asyncio.Event()
    settings = RetentionSettings(3600.0, 3600.0, 3600.0, 0.05, 1000)
    task = asyncio.create_task(Pruner(events_db, settings, duplicate_window=600.0).run(stop))
    try:

        async def left() -> int:
            async with events_db.acquire() as conn:
                return int(await conn.fetchval("SELECT count(*) FROM inbox"))

        await eventually(left, until=lambda n: n == 0, within=10, what="inbox pruned")
        async with events_db.acquire() as conn:
            await _inbox(conn, 2, at=OLD)
        await eventually(left, until=lambda n: n == 0, within=10, what="pruned again")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_an_interval_of_zero_turns_pruning_off(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn:
        await _inbox(conn, 2, at=OLD)
    off = RetentionSettings(3600.0, 3600.0, 3600.0, 0.0, 1000)
    stop = asyncio.Event()
    task = asyncio.create_task(Pruner(events_db, off).run(stop))
    # It waits for stop like any background task: one that ends stops the service.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), 0.5)
    stop.set()
    await asyncio.wait_for(task, 5)
    async with events_db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 2


async def test_each_batch_finds_its_rows_through_an_index(events_db: asyncpg.Pool) -> None:
    """Kit migration 0013 (and 0001 for the outbox): a batch never scans a whole table."""
    indexes = {
        "outbox": "outbox_published_at",
        "inbox": "inbox_processed_at",
        "idempotent_requests": "idempotent_requests_created_at",
    }
    async with events_db.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        for rule in rules(HOUR):
            plan = "\n".join(
                r[0] for r in await conn.fetch(f"EXPLAIN {rule.statement()}", 3600.0, 10)
            )
            assert indexes[rule.table] in plan, plan
