"""`weftwork dlq`: list, replay and discard dead letters across services' databases."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from devstack import dlq
from devstack.cli import build_parser
from mesh.db import create_pool
from mesh.events.deadletters import list_dead_letters, record_dead_letter
from mesh.migrations import KIT_MIGRATIONS, migrate
from tests.conftest import Stack
from tests.support import settings_for


async def _bury(pool: asyncpg.Pool, consumer: str, error: str) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with pool.acquire() as conn:
        await record_dead_letter(
            conn,
            consumer=consumer,
            stream="PROJECT",
            stream_seq=7,
            subject="weftwork.project.time_entry.approved.v1",
            event_id=event_id,
            headers={"ce-id": str(event_id)},
            payload=b"\x00",
            error=error,
            deliveries=8,
        )
    found = await list_dead_letters(pool, consumer=consumer)
    return next(d.id for d in found if d.event_id == event_id)


async def test_dlq_lists_replays_and_discards_by_id_or_filter(stack: Stack, tmp_path: Path) -> None:
    settings, _ = settings_for(stack.database_url, "nats://127.0.0.1:1", tmp_path)
    pools = {s: await create_pool(settings.database_url_for(s)) for s in ("billing", "revenue")}
    for pool in pools.values():
        async with pool.acquire() as conn:
            await migrate(conn, [("mesh", KIT_MIGRATIONS)])
    poisoned = await _bury(
        pools["billing"], "billing-project", "engagement E not activated in billing yet"
    )
    stuck = await _bury(pools["revenue"], "revenue-billing", "invoice for unknown engagement")
    other = await _bury(pools["revenue"], "revenue-project", "boom")

    def args(*argv: str) -> object:
        return build_parser().parse_args(["dlq", *argv])

    table = await dlq.run(settings, ["billing", "revenue"], args("list"))  # type: ignore[arg-type]
    assert str(poisoned) in table and str(stuck) in table and str(other) in table
    assert "not activated in billing yet" in table

    with pytest.raises(ValueError, match="--all"):
        await dlq.run(settings, ["revenue"], args("replay"))  # type: ignore[arg-type]
    out = await dlq.run(settings, ["billing", "revenue"], args("replay", str(poisoned)))  # type: ignore[arg-type]
    assert "billing: replay 1" in out
    out = await dlq.run(
        settings,
        ["revenue"],
        args("discard", "--all", "--consumer", "revenue-billing"),  # type: ignore[arg-type]
    )
    assert out == "revenue: discard 1"
    assert [d.id for d in await list_dead_letters(pools["revenue"])] == [other]
    assert [d.status for d in await list_dead_letters(pools["billing"], status=None)] == [
        "replay_requested"
    ]
    for pool in pools.values():
        await pool.close()
