"""Every service answers which events touched an engagement, from its own lineage table."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from mesh.db import create_pool
from mesh.errors import InvalidArgument
from mesh.events.cloudevents import ENGAGEMENT_HEADER
from mesh.events.lineage import LineageServicer
from mesh.events.outbox import OutgoingEvent, add_events
from mesh.migrations import KIT_MIGRATIONS, migrate
from mesh.settings import with_database
from tests.conftest import Stack
from weftwork.customer.v1 import events_pb2 as customer_events
from weftwork.mesh.v1 import lineage_service_pb2 as pb
from weftwork.project.v1 import events_pb2 as project_events

A = "5a3f0c43-1d1f-4a59-8d55-0f1a2b3c4d5e"
B = "6b4f0c43-1d1f-4a59-8d55-0f1a2b3c4d5e"


async def test_lineage_lists_one_engagements_events_in_order(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn, conn.transaction():
        ids = await add_events(
            conn,
            source="project",
            events=[
                OutgoingEvent(
                    "weftwork.project.engagement.activated.v1",
                    A,
                    1,
                    project_events.EngagementActivated(engagement_id=A, version=1),
                ),
                OutgoingEvent(
                    "weftwork.project.engagement.activated.v1",
                    B,
                    1,
                    project_events.EngagementActivated(engagement_id=B, version=1),
                ),
                OutgoingEvent(
                    "weftwork.customer.customer.created.v1",
                    "c1",
                    1,
                    customer_events.CustomerCreated(customer_id="c1", version=1),
                ),
                *[
                    OutgoingEvent(
                        "weftwork.project.milestone.completed.v1",
                        A,
                        v,
                        project_events.MilestoneCompleted(engagement_id=A, version=v),
                    )
                    for v in (2, 3)
                ],
            ],
        )
    headers = await events_db.fetch("SELECT id, headers FROM outbox ORDER BY seq")
    assert [h["headers"].get(ENGAGEMENT_HEADER) for h in headers] == [A, B, None, A, A]

    lineage = LineageServicer(events_db)
    first = await lineage.ListEngagementEvents(
        pb.ListEngagementEventsRequest(engagement_id=A, page_size=2), None
    )
    rest = await lineage.ListEngagementEvents(
        pb.ListEngagementEventsRequest(engagement_id=A, page_token=first.next_page_token), None
    )
    events = [*first.events, *rest.events]
    assert [e.id for e in events] == [str(ids[0]), str(ids[3]), str(ids[4])]
    assert [e.aggregate_version for e in events] == [1, 2, 3]
    assert {e.source for e in events} == {"/weftwork/project"}
    assert not any(e.published for e in events)  # no relay ran
    assert rest.next_page_token == ""


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ListEngagementEventsRequest(), "engagement_id"),
        (pb.ListEngagementEventsRequest(engagement_id=A, page_size=501), "page_size"),
        (pb.ListEngagementEventsRequest(engagement_id=A, page_token="x"), "page_token"),
    ],
)
async def test_bad_lineage_requests_name_the_field(
    events_db: asyncpg.Pool, request_: pb.ListEngagementEventsRequest, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await LineageServicer(events_db).ListEngagementEvents(request_, None)
    assert caught.value.violations[0].field == field


def _activated(engagement: str, version: int) -> OutgoingEvent:
    return OutgoingEvent(
        "weftwork.project.engagement.activated.v1",
        engagement,
        version,
        project_events.EngagementActivated(engagement_id=engagement, version=version),
    )


async def _timeline(pool: asyncpg.Pool, engagement: str) -> list[pb.LineageEvent]:
    answer = await LineageServicer(pool).ListEngagementEvents(
        pb.ListEngagementEventsRequest(engagement_id=engagement), None
    )
    return list(answer.events)


async def test_the_timeline_outlives_pruned_outbox_rows_and_ignores_rolled_back_ones(
    events_db: asyncpg.Pool,
) -> None:
    with contextlib.suppress(ZeroDivisionError):
        async with events_db.acquire() as conn, conn.transaction():
            await add_events(conn, source="project", events=[_activated(A, 1)])
            raise ZeroDivisionError  # the state change failed: neither row may stay
    async with events_db.acquire() as conn, conn.transaction():
        kept = await add_events(conn, source="project", events=[_activated(A, 2)])
    async with events_db.acquire() as conn, conn.transaction():
        waiting = await add_events(conn, source="project", events=[_activated(A, 3)])
    assert await events_db.fetchval("SELECT count(*) FROM lineage") == 2

    # What a retention rule does: the relay published the first, then its row was pruned.
    await events_db.execute("UPDATE outbox SET published_at = now() WHERE id = $1", kept[0])
    await events_db.execute("DELETE FROM outbox WHERE published_at IS NOT NULL")

    events = await _timeline(events_db, A)
    assert [(e.id, e.aggregate_version, e.published) for e in events] == [
        (str(kept[0]), 2, True),
        (str(waiting[0]), 3, False),
    ]
    assert {e.source for e in events} == {"/weftwork/project"}


async def test_the_kit_migration_fills_the_lineage_from_existing_outbox_rows(
    stack: Stack, tmp_path: Path
) -> None:
    before = tmp_path / "mesh"
    before.mkdir()
    for earlier in sorted(KIT_MIGRATIONS.glob("000[12]_*.sql")):
        shutil.copy(earlier, before / earlier.name)
    name = f"t_lineage_{uuid4().hex[:10]}"
    pool = await create_pool(with_database(stack.database_url, name))
    try:
        async with pool.acquire() as conn:
            await migrate(conn, [("mesh", before)])
            # Rows as add_events wrote them before the lineage table existed.
            for seq, (engagement, version) in enumerate([(A, 1), (B, 1), (None, 1), (A, 2)]):
                await conn.execute(
                    "INSERT INTO outbox (id, subject, aggregate_id, aggregate_version, payload,"
                    " headers, engagement_id, published_at)"
                    " VALUES ($1, 'weftwork.project.engagement.activated.v1', $2, $3, '',"
                    " $4::text::jsonb, $5, CASE WHEN $6 THEN now() END)",
                    uuid4(),
                    engagement or "customer-1",
                    version,
                    json.dumps({"ce-source": "/weftwork/project"}),
                    engagement,
                    seq == 0,
                )
            applied = await migrate(conn, [("mesh", KIT_MIGRATIONS)])
            assert applied[0] == "mesh/0003_lineage.sql"
        events = await _timeline(pool, A)
        assert [(e.aggregate_version, e.published, e.source) for e in events] == [
            (1, True, "/weftwork/project"),
            (2, False, "/weftwork/project"),
        ]
        assert [e.aggregate_version for e in await _timeline(pool, B)] == [1]
    finally:
        await pool.close()
        admin = await asyncpg.connect(stack.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
