"""The delivery worker's claim against real PostgreSQL (DESIGN.md §7: in event order per
(endpoint, engagement), crashes included): a delivery is claimed only once connect's consumer
of its stream has acknowledged its event (the ack floor), and only as the head of its chain.

The crash this stands for: connect was killed while its BILLING consumer held event 10 of an
engagement unacknowledged; after the restart events 11 and 12 are consumed at once, and event
10 only comes back after ack_wait. Deliveries of 11 and 12 must not go before 10's."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from mesh.db import create_pool
from mesh.migrations import migrate, service_components
from mesh.settings import with_database
from services.connect.domain.delivery import Delivery, DeliveryStatus, TargetKind
from services.connect.main import SPEC
from services.connect.store import ConnectStore
from tests.conftest import Stack

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    name = f"test_corder_{uuid.uuid4().hex[:12]}"
    pool = await create_pool(with_database(stack.database_url, name), max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, service_components("connect", SPEC.directory))
    try:
        yield pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(stack.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def endpoint(pool: asyncpg.Pool) -> uuid.UUID:
    endpoint_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO webhook_endpoints (id, url, event_types, secret) VALUES ($1, $2, $3, $4)",
        endpoint_id,
        "https://erp.example.com/hooks",
        ["weftwork.billing.*"],
        b"sealed",
    )
    return endpoint_id


def made(target: uuid.UUID, engagement: str, seq: int, stream: str = "billing") -> Delivery:
    """The delivery of the engagement's event at `seq` in the stream (its time follows seq)."""
    return Delivery(
        id=uuid.uuid4(),
        target_kind=TargetKind.WEBHOOK,
        target_id=target,
        event_id=uuid.uuid4(),
        event_type="weftwork.billing.invoice.issued.v1",
        event_time=T0 + dt.timedelta(seconds=seq),
        subject=f"invoice-{seq}",
        engagement_id=engagement,
        order_key=engagement,
        payload={"seq": seq},
        stream=stream if seq else "",
        stream_seq=seq,
    )


async def claim(pool: asyncpg.Pool, floors: dict[str, int]) -> list[int]:
    """What the worker would send now: the payloads' seq, the claim committed at once."""
    async with pool.acquire() as conn, conn.transaction():
        return [d.payload["seq"] for d in await ConnectStore(conn).claim_due_deliveries(10, floors)]


async def deliver(pool: asyncpg.Pool, seq: int) -> None:
    await pool.execute(
        "UPDATE deliveries SET status = $1 WHERE (payload->>'seq')::int = $2",
        DeliveryStatus.DELIVERED.value,
        seq,
    )


async def test_later_events_wait_for_an_earlier_one_a_killed_consumer_left_behind(
    pool: asyncpg.Pool,
) -> None:
    target = await endpoint(pool)
    async with pool.acquire() as conn:
        store = ConnectStore(conn)
        # After the restart: 11 and 12 fanned out; 10 not yet back (floor stays at 9).
        await store.add_deliveries([made(target, "E1", 11), made(target, "E1", 12)])
        assert await claim(pool, {"billing": 9}) == []
        assert await store.deliveries_held({"billing": 9})
        assert await claim(pool, {}) == [], "no floor known yet: nothing is sent"
        # 10 comes back after ack_wait, is fanned out and acknowledged: the floor passes 12.
        await store.add_deliveries([made(target, "E1", 10)])
        assert not await store.deliveries_held({"billing": 12})
    assert await claim(pool, {"billing": 12}) == [10], "the earliest first, alone"
    await deliver(pool, 10)
    assert await claim(pool, {"billing": 12}) == [11]
    await deliver(pool, 11)
    assert await claim(pool, {"billing": 12}) == [12]


async def test_a_floor_holds_only_what_is_above_it_and_chains_are_independent(
    pool: asyncpg.Pool,
) -> None:
    target = await endpoint(pool)
    async with pool.acquire() as conn:
        await ConnectStore(conn).add_deliveries(
            [
                made(target, "E1", 20),
                made(target, "E2", 21),
                made(target, "E3", 22, stream="revenue"),
                made(target, "E4", 0),  # not from a stream (a replayed dead letter): not gated
            ]
        )
    assert sorted(await claim(pool, {"billing": 20, "revenue": 5})) == [0, 20]
    assert sorted(await claim(pool, {"billing": 21, "revenue": 22})) == [0, 20, 21, 22]
