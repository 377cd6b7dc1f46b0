"""The revenue books in PostgreSQL: replaying one event history into empty databases gives
identical books (and the same as in memory), and closing a period is safe against postings."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from mesh.db import create_pool, in_transaction
from mesh.events.cloudevents import event_headers
from mesh.events.inbox import apply_once
from mesh.migrations import migrate, service_components
from mesh.settings import with_database
from services.revenue import handlers
from services.revenue.consumers import event_handlers
from services.revenue.domain.facts import BillingModel
from services.revenue.domain.periods import Period
from services.revenue.domain.position import Position
from services.revenue.store import RevenueStore
from tests.conftest import Stack
from tests.support import eventually
from tests.unit.revenue_fakes import (
    NOW,
    Close,
    Delivery,
    Engagement,
    FakeRevenueBooks,
    Step,
    random_history,
    run,
)

REVENUE_DIR = Path(__file__).resolve().parents[2] / "services" / "revenue"
D = dt.date


@pytest.fixture
async def databases(stack: Stack) -> AsyncIterator[Callable[[], Awaitable[asyncpg.Pool]]]:
    """Makes empty, migrated revenue databases; drops them afterwards."""
    made: list[tuple[str, asyncpg.Pool]] = []

    async def make() -> asyncpg.Pool:
        name = f"t_revenue_{uuid.uuid4().hex[:12]}"
        pool = await create_pool(with_database(stack.database_url, name), max_size=4)
        async with pool.acquire() as conn:
            await migrate(conn, service_components("revenue", REVENUE_DIR))
        made.append((name, pool))
        return pool

    yield make
    admin = await asyncpg.connect(stack.database_url)
    try:
        for name, pool in made:
            await pool.close()
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def deliver(pool: asyncpg.Pool, steps: list[Step]) -> None:
    """Each step as the consumer applies it: in a transaction, through the inbox."""
    table = event_handlers(RevenueStore)
    for step in steps:
        if isinstance(step, Close):
            await in_transaction(
                pool,
                lambda conn, s=step: handlers.close_period(  # type: ignore[misc]
                    RevenueStore(conn), s.legal_entity, s.period, now=NOW
                ),
            )
            continue
        headers = event_headers(
            event_id=step.event_id,
            service=step.subject.split(".")[1],
            subject=step.subject,
            aggregate_id="-",
            aggregate_version=1,
        )
        await in_transaction(
            pool,
            lambda conn, s=step, h=headers: apply_once(  # type: ignore[misc]
                conn,
                consumer="revenue-test",
                handlers=table,
                subject=s.subject,
                headers=h,
                payload=s.message.SerializeToString(),
            ),
        )


async def books(pool: asyncpg.Pool) -> object:
    """Everything that is a balance, and the journal without generated ids and clocks."""
    async with pool.acquire() as conn:
        contracts = await conn.fetch(
            "SELECT engagement_id, recognized, recognized_fee, billed, cost, unbilled_receivable,"
            " deferred_revenue, approved_hours, completed_on, version FROM contracts"
            " ORDER BY engagement_id"
        )
        journal = await conn.fetch(
            "SELECT e.engagement_id, e.kind, e.basis, e.service_date, e.posting_date,"
            " e.source_ids, array_agg(ARRAY[l.account, l.debit::text, l.credit::text]"
            "                         ORDER BY l.line_no) AS lines"
            " FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id"
            " GROUP BY e.id ORDER BY e.seq"
        )
        store = RevenueStore(conn)
        trial = [
            await handlers.trial_balance(store, entity, as_of)
            for entity in ("UK01", "US01", "DE01")
            for as_of in [Period(2025, m).last_day for m in range(1, 8)]
        ]
        portfolio = [await store.portfolio(Period(2025, m).last_day, None) for m in range(1, 8)]
    return [tuple(r) for r in contracts], [tuple(r) for r in journal], trial, portfolio


async def test_replaying_a_history_into_empty_databases_gives_identical_books(
    databases: Callable[[], Awaitable[asyncpg.Pool]],
) -> None:
    engagements, history = random_history(random.Random(2025), steps=60)
    # This history has every billing model, period closes, the same event delivered twice,
    # and an activation that arrives after its engagement's first events.
    deliveries = [s for s in history if isinstance(s, Delivery)]
    assert len({e.model for e in engagements}) == 3 and any(isinstance(s, Close) for s in history)
    assert len({d.event_id for d in deliveries}) < len(deliveries)
    activations = [i for i, d in enumerate(deliveries) if d.subject.endswith("activated.v1")]
    assert max(activations) >= len(engagements)
    first, second = await databases(), await databases()
    await deliver(first, history)
    await deliver(second, history)
    assert await books(first) == await books(second)
    # ... and the same as the in-memory books the properties run on.
    memory = FakeRevenueBooks()
    await run(memory, history)
    async with first.acquire() as conn:
        store = RevenueStore(conn)
        for e in engagements:
            sql, mine = (
                await handlers.get_position(store, e.id),
                await handlers.get_position(memory, e.id),
            )
            assert balances(sql) == balances(mine)
        for entity in {e.entity for e in engagements}:
            for as_of in (D(2025, 3, 31), D(2025, 12, 31)):
                trial = await handlers.trial_balance(store, entity, as_of)
                assert trial == await handlers.trial_balance(memory, entity, as_of)
                for book in trial:  # the trial balance sums to zero
                    assert book.total_debit == book.total_credit


def balances(p: Position) -> tuple[object, ...]:
    return (p.recognized, p.recognized_fee, p.billed, p.unbilled_receivable,
            p.deferred_revenue, p.cost, p.percent_complete, p.version)  # fmt: skip


async def waiting_on_a_lock(pool: asyncpg.Pool) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


async def test_closing_a_period_and_posting_into_it_take_turns(
    databases: Callable[[], Awaitable[asyncpg.Pool]],
) -> None:
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "GBP", "UK01")
    pool = await databases()
    await deliver(pool, [Delivery(*e.activated())])
    table = event_handlers(RevenueStore)

    async def approve(conn: asyncpg.Connection, entry_id: str, day: dt.date) -> None:
        subject, message = e.time((entry_id, day, "1", "100", "50", True))
        headers = event_headers(event_id=uuid.uuid4(), service="project", subject=subject,
                                aggregate_id=str(e.id), aggregate_version=2)  # fmt: skip
        await apply_once(conn, consumer="revenue-project", handlers=table, subject=subject,
                         headers=headers, payload=message.SerializeToString())  # fmt: skip

    async def close(conn: asyncpg.Connection, period: Period) -> None:
        await handlers.close_period(RevenueStore(conn), "UK01", period, now=NOW)

    # A posting in flight: closing January waits for it, then closes a January that has it.
    async with pool.acquire() as conn:
        async with conn.transaction():
            await approve(conn, "t1", D(2025, 1, 15))
            closing = asyncio.create_task(in_transaction(pool, lambda c: close(c, Period(2025, 1))))
            await eventually(lambda: waiting_on_a_lock(pool), what="the close to wait")
            assert not closing.done()
        await closing
        # A close in flight: a January posting waits for it, then posts into February.
        async with conn.transaction():
            await close(conn, Period(2025, 2))  # February has no postings yet
            posting = asyncio.create_task(
                in_transaction(pool, lambda c: approve(c, "t2", D(2025, 1, 20)))
            )
            await eventually(lambda: waiting_on_a_lock(pool), what="the posting to wait")
            assert not posting.done()
        await posting
    rows = await pool.fetch(
        "SELECT source_ids[1] AS entry, service_date, posting_date FROM journal_entries"
        " ORDER BY seq"
    )
    assert [tuple(r) for r in rows] == [
        ("t1", D(2025, 1, 15), D(2025, 1, 15)),
        ("t2", D(2025, 1, 20), D(2025, 3, 1)),  # January and February are closed
    ]
