"""The response cache on its own: its bound, its tags, its refusals of reads that may be behind,
and its bypass while the event streams are lost (a fake connection stands in for NATS)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry
from strawberry.types import ExecutionResult

from gateway.cache import COLLECTION, ResponseCache, counted
from gateway.cached_reads import CachedReads, result_tags
from gateway.invalidation import Invalidation, event_tags


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(max_bytes: int = 1 << 20, clock: Clock | None = None) -> ResponseCache:
    made = ResponseCache(
        max_bytes, registry=CollectorRegistry(), settle_seconds=2.0, clock=clock or Clock()
    )
    made.set_online(True)
    return made


def evictions(made: ResponseCache, reason: str) -> float:
    return counted(made.metrics.evictions, reason)


def test_never_holds_more_than_its_bound_under_distinct_queries() -> None:
    made = cache(max_bytes=8_192)
    for i in range(2_000):
        body = {"engagement": {"id": f"e{i}", "notes": "x" * (i % 700)}}
        made.put(("doc", "", f'{{"id":"e{i}"}}', "admin", "*"), body, 40 + i % 700, [f"e{i}"], 0)
        assert made.bytes <= 8_192
    assert 0 < len(made) < 2_000
    assert evictions(made, "size") > 0
    # least recently used goes first: the newest is still there, the first long gone
    assert made.get(("doc", "", '{"id":"e1999"}', "admin", "*")) is not None
    assert made.get(("doc", "", '{"id":"e0"}', "admin", "*")) is None


def test_an_entry_larger_than_the_bound_is_not_stored_and_zero_disables() -> None:
    made = cache(max_bytes=1_000)
    assert not made.put(("k",), {}, 5_000, [], 0)
    off = cache(max_bytes=0)
    assert not off.put(("k",), {}, 1, [], 0)
    assert off.get(("k",)) is None


def test_an_event_for_a_tagged_id_evicts_it_and_every_list() -> None:
    clock = Clock()
    made = cache(clock=clock)
    made.put(("a",), 1, 10, ["e1"], 0)
    made.put(("b",), 2, 10, ["e2"], 0)
    made.put(("list",), 3, 10, ["e2", COLLECTION], 0)
    assert made.evict(["e1"], "event") == 2
    assert made.get(("a",)) is None and made.get(("list",)) is None
    assert made.get(("b",)) == 2


def test_a_read_that_overlaps_an_eviction_of_its_ids_is_not_stored() -> None:
    clock = Clock()
    made = cache(clock=clock)
    mark = made.begin()  # the read starts, then the write's event arrives, then the read ends
    made.evict(["e1"], "event")
    clock.now += 60
    assert not made.put(("a",), "old", 10, ["e1"], mark)
    assert made.put(("b",), "other", 10, ["e9"], mark)  # an unrelated id changed: fine
    # within the settling time after a change, consumers may still be applying it: not stored
    made.evict(["e2"], "event")
    assert not made.put(("c",), "x", 10, ["e2"], made.begin())
    clock.now += 2.5
    assert made.put(("c",), "x", 10, ["e2"], made.begin())


def test_entries_expire_after_their_maximum_age() -> None:
    clock = Clock()
    made = cache(clock=clock)
    made.put(("a",), 1, 10, ["e1"], 0)
    clock.now += made.max_age_seconds + 1
    assert made.get(("a",)) is None


def test_result_tags_are_the_ids_read_and_lists_are_collections() -> None:
    data = {"engagement": {"id": "e1", "customer": {"id": "c1", "name": "n"}, "customerId": "c1"}}
    assert result_tags(data, {"id": "e1"}) == {"e1", "c1"}
    page = {"engagements": {"edges": [{"node": {"id": "e1"}}]}}
    assert result_tags(page, None) == {"e1", COLLECTION}


def test_event_tags_are_the_headers_ids_and_the_ids_in_the_body() -> None:
    engagement, person = uuid.uuid4(), uuid.uuid4()
    body = b"\n$" + str(person).encode() + b"\x10\x02"
    tags = event_tags({"ce-engagementid": str(engagement), "ce-subject": "inv%2D1"}, body)
    assert tags == {str(engagement), "inv-1", str(person)}


class FakeNats:
    """A NatsConnection's surface as Invalidation uses it, with a switch for the connection."""

    def __init__(self) -> None:
        self.state_listeners: list[Callable[[bool], None]] = []
        self.is_connected = True
        self.client = self
        self.subscribed = asyncio.Event()

    async def wait_connected(self, within: float | None = None) -> bool:
        return True

    async def subscribe(self, subject: str, cb: Any) -> object:
        self.subscribed.set()
        return object()

    async def flush(self, **_: float) -> None:
        return None

    def lose(self) -> None:
        self.is_connected = False
        for listener in self.state_listeners:
            listener(False)

    def regain(self) -> None:
        self.is_connected = True
        for listener in self.state_listeners:
            listener(True)


async def test_a_lost_connection_flushes_and_bypasses_until_resubscribed() -> None:
    made = ResponseCache(1 << 20, registry=CollectorRegistry())
    nats = FakeNats()
    invalidation = Invalidation(made, nats)  # type: ignore[arg-type]
    assert not made.enabled  # nothing served before the streams are subscribed
    invalidation.start()
    await asyncio.wait_for(nats.subscribed.wait(), 5)
    await asyncio.sleep(0)
    assert made.enabled
    made.put(("a",), 1, 10, ["e1"], 0)
    assert made.get(("a",)) == 1
    nats.lose()
    assert made.get(("a",)) is None and len(made) == 0
    assert not made.put(("a",), 1, 10, ["e1"], made.begin())
    assert counted(made.metrics.lookups, "bypass") >= 1
    nats.regain()
    assert made.put(("a",), 1, 10, ["e1"], made.begin())
    assert made.get(("a",)) == 1
    await invalidation.close()
    assert not made.enabled


def test_answers_without_ids_or_naming_the_caller_are_not_stored() -> None:
    class Caller:
        subject = "alice"
        roles = frozenset({"admin"})
        entities = None

    class Ctx:
        principal = Caller()

        class loaders:
            read: set[str] = set()

    made = cache()
    reads = CachedReads(made)

    async def ask(document: str, data: dict[str, Any]) -> None:
        async def execute() -> Any:
            return ExecutionResult(data=data, errors=None)

        await reads.run(execute, document, None, None, Ctx())  # type: ignore[arg-type]

    asyncio.run(ask("{ integrationStatus { settled } }", {"integrationStatus": {"settled": True}}))
    asyncio.run(ask("{ viewer { subject } }", {"viewer": {"id": "v", "subject": "alice"}}))
    assert len(made) == 0
    asyncio.run(ask("{ engagement { id } }", {"engagement": {"id": "e1", "name": "alice2"}}))
    assert len(made) == 1


async def test_a_mutation_evicts_what_it_named_and_without_ids_everything() -> None:
    class Caller:
        subject = "bob"
        roles = frozenset({"admin"})
        entities = None

    class Ctx:
        principal = Caller()

    made = cache()
    made.put(("a",), b"1", 10, ["e1"], 0)
    made.put(("b",), b"2", 10, ["e2"], 0)
    reads = CachedReads(made)

    async def answered() -> ExecutionResult:
        approved = [{"id": "t1", "engagementId": "e1"}]
        return ExecutionResult(data={"approveTime": approved}, errors=None)

    mutation = "mutation($ids: [ID!]!) { approveTime(ids: $ids) { id engagementId } }"
    await reads.run(answered, mutation, None, {"ids": ["t1"]}, Ctx())  # type: ignore[arg-type]
    assert made.get(("a",)) is None and made.get(("b",)) == b"2"

    async def nothing() -> ExecutionResult:
        return ExecutionResult(data={"closePeriod": True}, errors=None)

    await reads.run(nothing, "mutation { closePeriod }", None, None, Ctx())  # type: ignore[arg-type]
    assert len(made) == 0
