"""The event kit's metrics: the relay's backlog and publish latency, a consumer's counts and lag."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from nats.js.errors import NotFoundError

from mesh.events.cloudevents import event_headers
from mesh.events.consumer import EventConsumer
from mesh.events.handlers import Event, EventHandlers
from mesh.events.nats import NatsConnection
from mesh.events.outbox import OutgoingEvent, add_events
from mesh.events.relay import OutboxRelay
from mesh.events.streams import ensure_stream, stream_name
from mesh.metrics import ServiceMetrics
from tests.support import eventually

CONSUMER = "metrics-probe"


def subject_in(namespace: str) -> str:
    return f"{namespace}.customer.customer.updated.v1"


@contextlib.asynccontextmanager
async def running(work: EventConsumer) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(work.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def stream(nats: NatsConnection, namespace: str) -> str:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    return stream_name("customer", namespace)


async def test_backlog_gauge_counts_unpublished_events_and_publishing_times_each_one(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str, stream: str
) -> None:
    metrics = ServiceMetrics()
    relay = OutboxRelay(events_db, nats, metrics=metrics)
    async with events_db.acquire() as conn, conn.transaction():
        await add_events(
            conn,
            source="customer",
            events=[
                OutgoingEvent(subject_in(namespace), f"c-{n}", 1, StringValue(value=str(n)))
                for n in range(3)
            ],
        )
    registry = metrics.registry

    waiting = await relay.sample_backlog()
    assert registry.get_sample_value("weftwork_outbox_backlog_events") == 3 == waiting.unpublished
    assert registry.get_sample_value("weftwork_outbox_oldest_unpublished_age_seconds") >= 0  # type: ignore[operator]

    assert await relay.publish_pending() == 3
    await relay.sample_backlog()
    assert registry.get_sample_value("weftwork_outbox_backlog_events") == 0
    assert registry.get_sample_value("weftwork_outbox_oldest_unpublished_age_seconds") == 0
    assert registry.get_sample_value("weftwork_outbox_publish_seconds_count") == 3
    assert registry.get_sample_value("weftwork_outbox_publish_seconds_sum") > 0  # type: ignore[operator]


async def test_a_failed_delivery_counts_one_redelivery_then_one_processed_event(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str, stream: str
) -> None:
    subject = subject_in(namespace)
    calls = 0

    async def flaky(conn: asyncpg.Connection, event: Event[StringValue]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("not yet")

    handlers = EventHandlers()
    handlers.register(subject, StringValue, flaky)
    metrics = ServiceMetrics()
    consumer = EventConsumer(
        events_db,
        nats,
        name=CONSUMER,
        stream=stream,
        handlers=handlers,
        redelivery_base=0.01,
        redelivery_cap=0.05,
        metrics=metrics,
    )
    event_id = uuid4()
    headers = event_headers(
        event_id=event_id,
        service="customer",
        subject=subject,
        aggregate_id="c-1",
        aggregate_version=1,
    )
    await nats.jetstream.publish(
        subject, StringValue(value="x").SerializeToString(), headers=headers
    )

    async def settled() -> bool:
        try:
            info = await nats.jetstream.consumer_info(stream, CONSUMER)
        except NotFoundError:
            return False
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    labels = {"consumer": CONSUMER, "event_type": subject}
    async with running(consumer):
        await eventually(settled, what="the event applied and acknowledged")
        info = await nats.jetstream.consumer_info(stream, CONSUMER)
        consumer.record_lag(info)

    sample = metrics.registry.get_sample_value
    assert calls == 2
    assert sample("weftwork_events_redelivered_total", labels) == 1
    assert sample("weftwork_events_processed_total", labels) == 1
    assert sample("weftwork_event_handler_seconds_count", labels) == 1
    assert sample("weftwork_events_duplicate_total", labels) is None  # never counted
    assert sample("weftwork_consumer_pending_messages", {"consumer": CONSUMER}) == 0
    assert sample("weftwork_consumer_ack_pending_messages", {"consumer": CONSUMER}) == 0
