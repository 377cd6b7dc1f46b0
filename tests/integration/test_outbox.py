"""The outbox relay publishes every committed event exactly once, and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from devstack.nats import EmbeddedNats
from mesh.events.cloudevents import is_valid_traceparent, parse_event_headers
from mesh.events.nats import NatsConnection
from mesh.events.outbox import OutboxBacklog, OutgoingEvent, add_event, add_events, backlog
from mesh.events.relay import BatchNotPublished, OutboxRelay
from mesh.events.streams import ensure_stream, stream_name
from tests.conftest import Stack
from tests.support import eventually


def subject_in(namespace: str) -> str:
    return f"{namespace}.customer.customer.updated.v1"


async def write_events(
    pool: asyncpg.Pool, namespace: str, values: list[str], *, per_transaction: int = 100
) -> list[UUID]:
    ids: list[UUID] = []
    for start in range(0, len(values), per_transaction):
        async with pool.acquire() as conn, conn.transaction():
            ids += await add_events(
                conn,
                source="customer",
                events=[
                    OutgoingEvent(subject_in(namespace), f"customer-{v}", 1, StringValue(value=v))
                    for v in values[start : start + per_transaction]
                ],
            )
    return ids


async def stream_count(nats: NatsConnection, namespace: str) -> int:
    info = await nats.jetstream.stream_info(stream_name("customer", namespace))
    return int(info.state.messages)


async def unpublished(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def every_publish(nats: NatsConnection, namespace: str) -> AsyncIterator[Counter[str]]:
    """Counts Nats-Msg-Ids seen on core NATS: it sees every publish, even ones JetStream dedups."""
    seen: Counter[str] = Counter()

    async def count(msg: Msg) -> None:
        seen[(msg.headers or {})["Nats-Msg-Id"]] += 1

    subscription = await nats.client.subscribe(f"{namespace}.>", cb=count)
    await nats.client.flush()
    try:
        yield seen
    finally:
        await subscription.unsubscribe()


async def test_events_of_a_rolled_back_transaction_are_never_published(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str
) -> None:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    with contextlib.suppress(ZeroDivisionError):
        async with events_db.acquire() as conn, conn.transaction():
            await add_event(
                conn,
                source="customer",
                subject=subject_in(namespace),
                aggregate_id="c-1",
                aggregate_version=1,
                message=StringValue(value="rolled back"),
            )
            raise ZeroDivisionError  # the state change failed after the event was added
    [committed] = await write_events(events_db, namespace, ["committed"])

    async with running(OutboxRelay(events_db, nats, poll_interval=0.1)):
        await eventually(lambda: unpublished(events_db), until=_zero, what="the committed event")

    assert await stream_count(nats, namespace) == 1
    last = await nats.jetstream.get_last_msg(
        stream_name("customer", namespace), subject_in(namespace)
    )
    assert last.headers is not None
    assert last.headers["ce-id"] == str(committed)
    assert StringValue.FromString(last.data or b"").value == "committed"


async def test_committed_events_are_published_once_in_order_with_cloudevents_headers(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str
) -> None:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    request_span = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(request_span)):  # as if inside a traced gRPC call
        ids = await write_events(events_db, namespace, [f"v{i}" for i in range(5)])
    assert (await backlog(events_db)).unpublished == 5

    async with running(OutboxRelay(events_db, nats, poll_interval=0.1)):
        await eventually(lambda: unpublished(events_db), until=_zero, what="all published")

    stream = stream_name("customer", namespace)
    assert await stream_count(nats, namespace) == 5
    for sequence, (event_id, value) in enumerate(
        zip(ids, [f"v{i}" for i in range(5)], strict=True), 1
    ):
        msg = await nats.jetstream.get_msg(stream, sequence)
        assert msg.headers is not None
        attributes = parse_event_headers(msg.headers)
        assert attributes.id == event_id
        assert msg.headers["Nats-Msg-Id"] == str(event_id)
        assert attributes.source == "/weftwork/customer"
        assert attributes.type == subject_in(namespace)
        assert attributes.aggregate_id == f"customer-{value}"
        assert attributes.traceparent is not None
        assert is_valid_traceparent(attributes.traceparent)
        assert attributes.traceparent.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert msg.headers["Content-Type"] == "application/protobuf"
        assert StringValue.FromString(msg.data or b"").value == value
    rows = await events_db.fetch("SELECT attempts, last_error, published_at FROM outbox")
    assert all(r["attempts"] == 1 and r["last_error"] is None and r["published_at"] for r in rows)
    assert await backlog(events_db) == OutboxBacklog(unpublished=0, oldest_age_seconds=0.0)


async def test_relay_is_woken_by_the_commit_rather_than_by_polling(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str
) -> None:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    async with running(OutboxRelay(events_db, nats, poll_interval=3600)):
        await eventually(
            lambda: events_db.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            ),
            what="the relay listening",
        )
        await write_events(events_db, namespace, ["wake up"])
        await eventually(lambda: unpublished(events_db), until=_zero, what="a NOTIFY wake-up")
    assert await stream_count(nats, namespace) == 1


async def test_adding_an_event_outside_a_transaction_is_refused(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn:
        with pytest.raises(RuntimeError, match="inside the transaction"):
            await add_event(
                conn,
                source="customer",
                subject="weftwork.customer.customer.created.v1",
                aggregate_id="c-1",
                aggregate_version=1,
                message=StringValue(value="x"),
            )
    assert await events_db.fetchval("SELECT count(*) FROM outbox") == 0


@pytest.fixture
def nats_server_later(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """The URL of a JetStream server that is down, and a function that starts it when the test
    says so. It ran once, briefly, to get a port of its own; the start rebinds that port."""
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    server.stop()

    def start() -> None:
        server.start()

    yield server.url, start
    server.stop()


async def test_relay_started_while_nats_is_down_catches_up_when_it_comes(
    events_db: asyncpg.Pool,
    nats_server_later: tuple[str, Callable[[], None]],
) -> None:
    url, start_nats_server = nats_server_later
    namespace = "down"
    async with NatsConnection(url, name="relay", reconnect_wait=0.2) as nats:
        await write_events(events_db, namespace, [f"v{i}" for i in range(10)])
        async with running(OutboxRelay(events_db, nats, poll_interval=0.1)) as relay:
            assert not await nats.wait_connected(0.5)
            assert not relay.done(), "the relay must survive NATS being down"
            assert await unpublished(events_db) == 10

            start_nats_server()
            assert await nats.wait_connected(30), "the connection never came up"
            await ensure_stream(nats.jetstream, "customer", namespace=namespace)

            await eventually(lambda: unpublished(events_db), until=_zero, what="the catch-up")
            assert not relay.done()
        assert await stream_count(nats, namespace) == 10


async def test_two_relays_on_one_outbox_publish_each_event_once(
    events_db: asyncpg.Pool,
    nats: NatsConnection,
    namespace: str,
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    ids = await write_events(events_db, namespace, [f"v{i}" for i in range(1000)])
    claimed_by: list[int] = [0, 0]

    def counting(relay: OutboxRelay, index: int) -> OutboxRelay:
        mark = relay._mark_published

        async def mark_and_count(conn: asyncpg.Connection, batch: list[UUID]) -> None:
            await mark(conn, batch)
            claimed_by[index] += len(batch)

        monkeypatch.setattr(relay, "_mark_published", mark_and_count)
        return relay

    async with (
        every_publish(nats, namespace) as seen,
        NatsConnection(stack.nats_url, name="relay-2") as other_nats,
    ):
        assert await other_nats.wait_connected(10)
        first = counting(OutboxRelay(events_db, nats, batch_size=50, poll_interval=0.1), 0)
        second = counting(OutboxRelay(events_db, other_nats, batch_size=50, poll_interval=0.1), 1)
        async with running(first), running(second):
            await eventually(lambda: unpublished(events_db), until=_zero, what="all published")
        await nats.client.flush()
        await eventually(
            lambda: _value(sum(seen.values())), until=lambda n: n >= 1000, what="every publish"
        )

    # No row was claimed twice: bookkeeping, the wire and the stream all say once.
    assert sorted(claimed_by) != [0, 1000], f"both relays should have worked: {claimed_by}"
    assert sum(claimed_by) == 1000
    assert set(await events_db.fetchval("SELECT array_agg(DISTINCT attempts) FROM outbox")) == {1}
    assert set(seen) == {str(i) for i in ids}
    assert set(seen.values()) == {1}
    assert await stream_count(nats, namespace) == 1000


async def test_relay_dying_before_marking_republishes_and_the_stream_keeps_one_copy(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    ids = await write_events(events_db, namespace, [f"v{i}" for i in range(5)])
    crashing = OutboxRelay(events_db, nats)

    async def die(conn: asyncpg.Connection, batch: list[UUID]) -> None:
        raise ConnectionResetError("relay process killed after the PubAcks")

    monkeypatch.setattr(crashing, "_mark_published", die)

    async with every_publish(nats, namespace) as seen:
        with pytest.raises(ConnectionResetError):
            await crashing.publish_pending()
        assert await unpublished(events_db) == 5
        assert await stream_count(nats, namespace) == 5
        failures = await events_db.fetch("SELECT attempts, last_error FROM outbox")
        assert all(r["attempts"] == 1 and "killed" in r["last_error"] for r in failures)

        assert await OutboxRelay(events_db, nats).publish_pending() == 5
        await nats.client.flush()

    assert await unpublished(events_db) == 0
    assert {k: v for k, v in seen.items()} == {str(i): 2 for i in ids}  # sent twice...
    assert await stream_count(nats, namespace) == 5  # ...stored once, thanks to Nats-Msg-Id


async def test_unacknowledged_batch_times_out_stays_unpublished_and_is_retried(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str
) -> None:
    # A listener but no stream: the publishes are delivered, yet no PubAck ever comes.
    silent = await nats.client.subscribe(f"{namespace}.>")
    await write_events(events_db, namespace, ["v0", "v1", "v2"])
    relay = OutboxRelay(events_db, nats, publish_timeout=0.3)

    with pytest.raises(BatchNotPublished, match="3 event"):
        await relay.publish_pending()

    rows = await events_db.fetch("SELECT attempts, last_error, published_at FROM outbox")
    assert [(r["attempts"], r["published_at"]) for r in rows] == [(1, None)] * 3
    assert all("no PubAck within 0.3 s" in r["last_error"] for r in rows)
    assert nats.jetstream.publish_async_pending() == 0  # abandoned futures were released

    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    assert await relay.publish_pending() == 3
    assert await stream_count(nats, namespace) == 3
    await silent.unsubscribe()


async def test_event_jetstream_refuses_keeps_its_batch_unpublished_and_is_named(
    events_db: asyncpg.Pool, nats: NatsConnection, namespace: str
) -> None:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    [fine] = await write_events(events_db, namespace, ["fine"])
    async with events_db.acquire() as conn, conn.transaction():
        stray = await add_event(  # a subject no stream captures: a wiring mistake
            conn,
            source="customer",
            subject=f"{namespace}-nowhere.customer.created.v1",
            aggregate_id="c-1",
            aggregate_version=1,
            message=StringValue(value="stray"),
        )

    with pytest.raises(BatchNotPublished, match="1 event"):
        await OutboxRelay(events_db, nats).publish_pending()

    rows = await events_db.fetch("SELECT id, last_error FROM outbox WHERE published_at IS NULL")
    errors = {row["id"]: row["last_error"] for row in rows}
    assert errors.keys() == {fine, stray}  # never dropped, never half-marked
    assert "NoStreamResponse" in errors[stray]
    assert errors[fine].startswith("batch rolled back")


def _zero(count: int) -> bool:
    return count == 0


async def _value(value: int) -> int:
    return value
