"""Inbox consumers apply each event exactly once, and park what they cannot apply."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from uuid import UUID, uuid4

import asyncpg
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from nats.js.errors import NotFoundError

from mesh.events.cloudevents import event_headers
from mesh.events.consumer import EventConsumer
from mesh.events.deadletters import DeadLetter, discard, list_dead_letters, replay
from mesh.events.handlers import Event, EventHandlers
from mesh.events.nats import NatsConnection
from mesh.events.streams import UnsupportedServer, ensure_consumer, ensure_stream, stream_name
from tests.support import eventually

CONSUMER = "billing"


@dataclass
class Feed:
    """The customer stream of this test's namespace and the one subject the consumer handles."""

    nats: NatsConnection
    stream: str
    subject: str

    async def publish(
        self,
        value: str,
        *,
        event_id: UUID | None = None,
        msg_id: str | None = None,
        payload: bytes | None = None,
        source: str = "customer",
    ) -> UUID:
        event_id = event_id or uuid4()
        headers = event_headers(
            event_id=event_id,
            service=source,
            subject=self.subject,
            aggregate_id=f"customer-{value}",
            aggregate_version=1,
        )
        if msg_id is not None:  # another publish of the same event, past JetStream's dedup
            headers["Nats-Msg-Id"] = msg_id
        body = StringValue(value=value).SerializeToString() if payload is None else payload
        await self.nats.jetstream.publish(self.subject, body, headers=headers)
        return event_id

    async def settled(self) -> bool:
        """Nothing left to deliver and nothing delivered but unacknowledged."""
        try:
            info = await self.nats.jetstream.consumer_info(self.stream, CONSUMER)
        except NotFoundError:  # the consumer has not declared itself yet
            return False
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)


@dataclass
class BillingHandler:
    """Writes its effect first, then fails as told, so a rollback is visible in `effects`."""

    fail_first: int = 0
    away_first: int = 0  # the first calls find a dependency away (a dropped connection)
    broken: bool = False
    calls: list[UUID] = field(default_factory=list)

    async def __call__(self, conn: asyncpg.Connection, event: Event[StringValue]) -> None:
        self.calls.append(event.id)
        await conn.execute(
            "INSERT INTO effects (event_id, value) VALUES ($1, $2)"
            " ON CONFLICT (event_id) DO UPDATE SET applied = effects.applied + 1",
            event.id,
            event.message.value,
        )
        if len(self.calls) <= self.away_first:
            raise ConnectionResetError("the database went away")
        if self.broken or len(self.calls) <= self.fail_first or event.message.value == "bad":
            raise RuntimeError(f"cannot bill {event.message.value}")


@pytest.fixture
async def feed(nats: NatsConnection, namespace: str, events_db: asyncpg.Pool) -> Feed:
    await ensure_stream(nats.jetstream, "customer", namespace=namespace)
    await events_db.execute(
        "CREATE TABLE effects (event_id uuid PRIMARY KEY, value text NOT NULL,"
        " applied integer NOT NULL DEFAULT 1)"
    )
    return Feed(
        nats, stream_name("customer", namespace), f"{namespace}.customer.customer.created.v1"
    )


def consumer_for(
    feed: Feed, pool: asyncpg.Pool, handler: BillingHandler, *, max_deliver: int = 5
) -> EventConsumer:
    handlers = EventHandlers()
    handlers.register(feed.subject, StringValue, handler)
    return EventConsumer(
        pool,
        feed.nats,
        name=CONSUMER,
        stream=feed.stream,
        handlers=handlers,
        max_deliver=max_deliver,
        redelivery_base=0.01,
        redelivery_cap=0.05,
        replay_poll_interval=0.2,
        consumer_check_interval=0.5,
    )


@contextlib.asynccontextmanager
async def consuming(consumer: EventConsumer) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def effects(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT value, applied FROM effects")
    return {row["value"]: row["applied"] for row in rows}


async def inbox(pool: asyncpg.Pool) -> set[UUID]:
    rows = await pool.fetch("SELECT event_id FROM inbox WHERE consumer = $1", CONSUMER)
    return {row["event_id"] for row in rows}


async def dead_letters(pool: asyncpg.Pool, status: str | None = "pending") -> list[DeadLetter]:
    return await list_dead_letters(pool, consumer=CONSUMER, status=status)


async def test_effect_and_inbox_row_commit_together_and_messages_are_acked(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    ids = {await feed.publish(value) for value in ("a", "b", "c")}

    async with consuming(consumer_for(feed, events_db, BillingHandler())):
        await eventually(feed.settled, what="all messages acknowledged")

    assert await effects(events_db) == {"a": 1, "b": 1, "c": 1}
    assert await inbox(events_db) == ids


async def test_redelivered_duplicate_event_is_acked_without_applying_it_again(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler()
    event_id = await feed.publish("once")
    await feed.publish("once", event_id=event_id, msg_id=f"{event_id}-again")  # a second copy
    info = await feed.nats.jetstream.stream_info(feed.stream)
    assert info.state.messages == 2

    async with consuming(consumer_for(feed, events_db, handler)):
        await eventually(feed.settled, what="both copies acknowledged")

    assert handler.calls == [event_id]
    assert await effects(events_db) == {"once": 1}


async def test_event_already_in_the_inbox_is_acked_and_skipped(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler()
    event_id = uuid4()
    await events_db.execute(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)", CONSUMER, event_id
    )
    await feed.publish("applied before", event_id=event_id)

    async with consuming(consumer_for(feed, events_db, handler)):
        await eventually(feed.settled, what="the message acknowledged")

    assert handler.calls == []
    assert await effects(events_db) == {}


async def test_transient_handler_failure_is_retried_and_applied_once(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler(fail_first=2)
    event_id = await feed.publish("flaky")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=5)):
        await eventually(lambda: effects(events_db), what="the effect after retries")
        await eventually(feed.settled, what="the message acknowledged")

    assert handler.calls == [event_id] * 3
    assert await effects(events_db) == {"flaky": 1}  # the two failed attempts left nothing
    assert await dead_letters(events_db, status=None) == []


async def test_an_outage_longer_than_max_deliver_does_not_dead_letter_the_event(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    """A dependency being away is no fault of the message: it is redelivered until the
    dependency is back, however many deliveries that takes, and then applied once."""
    handler = BillingHandler(away_first=5)
    event_id = await feed.publish("patient")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=2)):
        await eventually(lambda: effects(events_db), what="the effect after the outage")
        await eventually(feed.settled, what="the message acknowledged")

    assert handler.calls == [event_id] * 6
    assert await effects(events_db) == {"patient": 1}
    assert await dead_letters(events_db, status=None) == []


async def test_redeliveries_caused_by_an_outage_do_not_count_towards_dead_lettering(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    """After an outage that took five deliveries, one real failure (max_deliver 2) is still
    retried: only the handler's own failures bring a message closer to the dead letters."""
    handler = BillingHandler(away_first=5, fail_first=6)
    event_id = await feed.publish("patient")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=2)):
        await eventually(lambda: effects(events_db), what="the effect after the outage")
        await eventually(feed.settled, what="the message acknowledged")

    assert handler.calls == [event_id] * 7
    assert await effects(events_db) == {"patient": 1}
    assert await dead_letters(events_db, status=None) == []


async def test_handler_failing_on_every_delivery_ends_as_an_acked_dead_letter(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler(broken=True)
    event_id = await feed.publish("doomed")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=3)):
        [letter] = await eventually(lambda: dead_letters(events_db), what="a dead letter")
        await eventually(feed.settled, what="the dead letter acknowledged")

    assert handler.calls == [event_id] * 3
    assert letter.event_id == event_id
    assert letter.deliveries == 3
    assert "cannot bill doomed" in letter.error
    assert letter.headers["ce-id"] == str(event_id)
    assert letter.headers["ce-type"] == feed.subject
    assert StringValue.FromString(letter.payload).value == "doomed"
    assert (letter.subject, letter.stream, letter.status) == (feed.subject, feed.stream, "pending")
    # The failed effect and its inbox row were rolled back together.
    assert await effects(events_db) == {}
    assert await inbox(events_db) == set()


async def test_undecodable_payload_is_dead_lettered_on_first_delivery(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler()
    event_id = await feed.publish("garbled", payload=b"\x0a\x05ab")  # truncated string field

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=5)):
        [letter] = await eventually(lambda: dead_letters(events_db), what="a dead letter")
        await eventually(feed.settled, what="the poison message acknowledged")

    assert handler.calls == []
    assert letter.deliveries == 1
    assert letter.event_id == event_id
    assert "google.protobuf.StringValue" in letter.error
    assert letter.payload == b"\x0a\x05ab"


async def test_event_claiming_another_source_than_the_streams_owner_is_dead_lettered_unapplied(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler()
    forged = await feed.publish("forged", source="billing")  # on the customer stream
    honest = await feed.publish("honest")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=5)):
        [letter] = await eventually(lambda: dead_letters(events_db), what="a dead letter")
        await eventually(feed.settled, what="both messages acknowledged")
        assert await effects(events_db) == {"honest": 1}
        # However often it is replayed, it is refused again and changes nothing.
        assert await replay(events_db, [letter.id]) == 1
        [again] = await eventually(
            lambda: dead_letters(events_db),
            until=lambda letters: bool(letters) and "replay failed" in letters[0].error,
            what="the replay refused",
        )

    assert handler.calls == [honest]
    assert (letter.event_id, letter.deliveries) == (forged, 1)
    assert "'/weftwork/billing' does not own this stream (/weftwork/customer)" in letter.error
    assert "/weftwork/billing" in again.error
    assert await effects(events_db) == {"honest": 1}
    assert await inbox(events_db) == {honest}


async def test_one_failing_message_does_not_roll_back_the_rest_of_its_batch(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    for value in ("a", "b", "bad", "c", "d"):
        await feed.publish(value)
    consumer = consumer_for(feed, events_db, BillingHandler(), max_deliver=5)
    js = feed.nats.jetstream
    await ensure_consumer(js, feed.stream, CONSUMER, [feed.subject], ack_wait=30, max_deliver=-1)
    subscription = await js.pull_subscribe_bind(durable=CONSUMER, stream=feed.stream)
    batch = await subscription.fetch(5, timeout=5)
    assert len(batch) == 5

    await consumer.handle_batch(batch)

    assert await effects(events_db) == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert len(await inbox(events_db)) == 4
    [again] = await subscription.fetch(5, timeout=5)  # only the failed one comes back
    assert StringValue.FromString(again.data).value == "bad"
    assert again.metadata.num_delivered == 2
    await subscription.unsubscribe()


async def test_replay_after_the_fix_applies_the_event_once_and_marks_it_replayed(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler(broken=True)
    event_id = await feed.publish("needs fix")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=2)):
        [letter] = await eventually(lambda: dead_letters(events_db), what="a dead letter")
        handler.broken = False  # the fix is deployed
        assert await replay(events_db, [letter.id]) == 1
        [replayed] = await eventually(
            lambda: dead_letters(events_db, status="replayed"), what="the replay"
        )
        assert await replay(events_db, [letter.id]) == 0  # a second request changes nothing

    assert replayed.id == letter.id
    assert replayed.resolved_at is not None
    assert await effects(events_db) == {"needs fix": 1}
    assert await inbox(events_db) == {event_id}
    assert handler.calls == [event_id] * 3  # two failed deliveries, one replay


async def test_replaying_an_event_applied_meanwhile_does_not_apply_it_twice(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler(broken=True)
    event_id = await feed.publish("republished")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=1)):
        [letter] = await eventually(lambda: dead_letters(events_db), what="a dead letter")
        handler.broken = False
        await feed.publish("republished", event_id=event_id, msg_id=f"{event_id}-again")
        await eventually(lambda: effects(events_db), what="the republished event applied")
        await replay(events_db, [letter.id])
        await eventually(lambda: dead_letters(events_db, status="replayed"), what="the replay")

    assert await effects(events_db) == {"republished": 1}
    assert handler.calls == [event_id] * 2  # the failure, then the republished copy


async def test_failed_replay_returns_the_dead_letter_to_pending_with_the_new_error(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler(broken=True)
    await feed.publish("still broken")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=1)):
        [letter] = await eventually(lambda: dead_letters(events_db), what="a dead letter")
        await replay(events_db, [letter.id])
        [again] = await eventually(
            lambda: dead_letters(events_db),
            until=lambda rows: bool(rows) and rows[0].error.startswith("replay failed"),
            what="the replay to fail",
        )

    assert again.id == letter.id
    assert await effects(events_db) == {}


async def test_discarded_dead_letter_is_closed_and_never_applied(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler(broken=True)
    await feed.publish("unwanted")

    async with consuming(consumer_for(feed, events_db, handler, max_deliver=1)):
        [letter] = await eventually(lambda: dead_letters(events_db), what="a dead letter")
        assert await discard(events_db, [letter.id]) == 1
        assert await replay(events_db, [letter.id]) == 0

    [discarded] = await dead_letters(events_db, status="discarded")
    assert discarded.id == letter.id
    assert discarded.resolved_at is not None
    assert await dead_letters(events_db) == []
    assert await effects(events_db) == {}


async def test_consumer_deleted_under_a_running_service_is_declared_again(
    feed: Feed, events_db: asyncpg.Pool
) -> None:
    handler = BillingHandler()
    first = await feed.publish("before")

    async with consuming(consumer_for(feed, events_db, handler)):
        await eventually(feed.settled, what="the first event acknowledged")
        await feed.nats.jetstream.delete_consumer(feed.stream, CONSUMER)
        second = await feed.publish("after")
        await eventually(lambda: effects(events_db), until=lambda e: "after" in e, what="rebind")
        await eventually(feed.settled, what="both acknowledged by the new consumer")

    # The recreated consumer starts from the stream's beginning; the inbox absorbs the replay.
    assert handler.calls == [first, second]
    assert await effects(events_db) == {"before": 1, "after": 1}


async def test_declaring_streams_and_consumers_is_idempotent_even_when_racing(
    nats: NatsConnection, namespace: str
) -> None:
    js = nats.jetstream
    first, second = await asyncio.gather(
        ensure_stream(js, "project", namespace=namespace),
        ensure_stream(js, "project", namespace=namespace),
    )
    assert first.config.name == second.config.name == stream_name("project", namespace)
    assert first.config.subjects == [f"{namespace}.project.>"]
    assert first.config.duplicate_window == 600
    # A deploy that widens the dedup window updates the existing stream in place.
    widened = await ensure_stream(js, "project", namespace=namespace, duplicate_window=900)
    assert widened.config.duplicate_window == 900
    with pytest.raises(ValueError, match="duplicate_window"):
        await ensure_stream(js, "project", namespace=namespace, duplicate_window=60)

    stream = stream_name("project", namespace)
    subject = f"{namespace}.project.time_entry.approved.v1"
    declared = await asyncio.gather(
        *(
            ensure_consumer(js, stream, "revenue", [subject], ack_wait=30, max_deliver=-1)
            for _ in range(2)
        )
    )
    assert {info.name for info in declared} == {"revenue"}
    updated = await ensure_consumer(js, stream, "revenue", [subject], ack_wait=45, max_deliver=-1)
    assert updated.config.ack_wait == 45
    assert updated.config.filter_subject == subject

    also = f"{namespace}.project.expense.approved.v1"
    version = nats.client.connected_server_version
    if (version.major, version.minor) < (2, 10):  # refused rather than silently unfiltered
        with pytest.raises(UnsupportedServer):
            await ensure_consumer(
                js, stream, "revenue", [subject, also], ack_wait=45, max_deliver=-1
            )
    else:
        both = await ensure_consumer(
            js, stream, "revenue", [subject, also], ack_wait=45, max_deliver=-1
        )
        assert sorted(both.config.filter_subjects or []) == sorted([subject, also])
