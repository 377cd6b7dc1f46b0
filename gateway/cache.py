"""The response cache: read results kept in memory, bounded, evicted by the events they depend on.

An entry is the serialized answer to one read operation, keyed by what was asked (document
hash, operation name, variables) and by what the caller may see (roles, which decide per-field
visibility such as cost and margin, and legal entities). Each entry carries tags: the ids it
read. Whatever changes an id evicts its entries: an event on any stream naming it
(gateway/invalidation.py) or one of the gateway's own mutations, before that mutation answers.
Results of lists (a root field that is a page or a list) are tagged COLLECTION and go on any
change, since a new object joins a list without any id the list already showed.

Never stale silently: a read that overlaps an eviction of one of its tags (it may have read the
old state) is not stored; without the event streams (NATS lost) the cache is flushed and
bypassed until resubscribed. Tags that changed within `settle_seconds` are not stored either:
consumers of that event (billing, revenue) may still be applying it, and not every projection
they update publishes an event of its own. `max_age_seconds` bounds what an event never reached.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

COLLECTION = "*collection"
ENTRY_OVERHEAD = 512  # bytes an entry costs beyond its body, key and tags (its dict slots)
TAG_OVERHEAD = 120  # bytes each tag of an entry costs (the string, its place in two sets)
# Changed ids remembered for the overlap check (≈ 4 MB at most, outside the bound); a read
# that started before the oldest one remembered is not stored.
RECENT_TAGS = 16_384

Key = tuple[str, ...]
# The gRPC methods the current read called (gateway/clients.py notes each): a read of the kit's
# IntegrationService (outboxes, consumers, dead letters) sees state no event announces.
CALLED: ContextVar[set[str] | None] = ContextVar("weftwork_gateway_called", default=None)
UNANNOUNCED = ("/weftwork.mesh.v1.IntegrationService/",)


@dataclass
class Entry:
    value: object  # the result's data, serialized (gateway/cached_reads.py)
    tags: frozenset[str]
    size: int
    stored_at: float


class CacheMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.lookups = Counter(
            "weftwork_gateway_cache_lookups_total",
            "Response cache lookups of read operations, by result (hit, miss, bypass).",
            ("result",),
            registry=registry,
        )
        self.evictions = Counter(
            "weftwork_gateway_cache_evictions_total",
            "Entries removed from the response cache, by reason (event, mutation, size, age, …).",
            ("reason",),
            registry=registry,
        )
        self.bytes = Gauge(
            "weftwork_gateway_cache_bytes", "Bytes held by the response cache.", registry=registry
        )


def counted(counter: Counter, label: str) -> float:
    """A labelled counter's total for one label value (tests, the bench)."""
    return sum(
        float(s.value)
        for metric in counter.collect()
        for s in metric.samples
        if s.name.endswith("_total") and label in s.labels.values()
    )


class ResponseCache:
    def __init__(
        self,
        max_bytes: int,
        *,
        registry: CollectorRegistry | None = None,
        settle_seconds: float = 2.0,
        max_age_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.metrics = CacheMetrics(registry)
        self.settle_seconds = settle_seconds
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._entries: OrderedDict[Key, Entry] = OrderedDict()  # least recently used first
        self._by_tag: dict[str, set[Key]] = {}
        self.bytes = 0
        self._seq = 0  # one more on every eviction or flush
        self._changed: OrderedDict[str, tuple[int, float]] = OrderedDict()  # tag -> (seq, when)
        self._floor = 0  # seq of the last flush, or of the newest forgotten change
        self._online = False  # until the event streams are subscribed

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self._online

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self) -> int:
        """A mark taken before a read starts, handed back to `put` with its result."""
        return self._seq

    def get(self, key: Key) -> object | None:
        if not self.enabled:
            self.metrics.lookups.labels("bypass").inc()
            return None
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry.stored_at > self.max_age_seconds:
            self._drop(key, "age")
            entry = None
        if entry is None:
            self.metrics.lookups.labels("miss").inc()
            return None
        self._entries.move_to_end(key)
        self.metrics.lookups.labels("hit").inc()
        return entry.value

    def put(self, key: Key, value: object, nbytes: int, tags: Iterable[str], mark: int) -> bool:
        """Store unless the cache is off, the entry alone exceeds the bound, or one of its tags
        changed since `mark` or within the settling time (the read may be behind). `nbytes`: the
        size of the value serialized, which stands for what it holds in memory."""
        tags = frozenset(tags)
        size = nbytes + sum(len(k) for k in key) + ENTRY_OVERHEAD + TAG_OVERHEAD * len(tags)
        if not self.enabled or size > self.max_bytes or mark < self._floor:
            return False
        now = self._clock()
        if any(self._changed_since(tag, mark, now) for tag in tags):
            return False
        if key in self._entries:
            self._drop(key, "replaced")
        self._entries[key] = Entry(value, tags, size, now)
        for tag in tags:
            self._by_tag.setdefault(tag, set()).add(key)
        self.bytes += size
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)), "size")
        self.metrics.bytes.set(self.bytes)
        return True

    def evict(self, tags: Iterable[str], reason: str) -> int:
        """Drop every entry tagged with one of `tags`, and every list (COLLECTION)."""
        self._seq += 1
        now = self._clock()
        keys: set[Key] = set(self._by_tag.get(COLLECTION, ()))
        for tag in tags:
            self._changed[tag] = (self._seq, now)
            self._changed.move_to_end(tag)
            keys |= self._by_tag.get(tag, set())
        self._changed[COLLECTION] = (self._seq, now)
        self._changed.move_to_end(COLLECTION)
        while len(self._changed) > RECENT_TAGS:
            _, (seq, _when) = self._changed.popitem(last=False)
            self._floor = max(self._floor, seq)
        for key in keys:
            self._drop(key, reason)
        self.metrics.bytes.set(self.bytes)
        return len(keys)

    def flush(self, reason: str = "flush") -> None:
        self._seq += 1
        self._floor = self._seq
        self._changed.clear()
        if self._entries:
            self.metrics.evictions.labels(reason).inc(len(self._entries))
        self._entries.clear()
        self._by_tag.clear()
        self.bytes = 0
        self.metrics.bytes.set(0)

    def set_online(self, online: bool) -> None:
        """Offline (the event streams lost): flush everything and bypass until online again."""
        if not online:
            self.flush("offline")
        self._online = online

    def _changed_since(self, tag: str, mark: int, now: float) -> bool:
        changed = self._changed.get(tag)
        return changed is not None and (changed[0] > mark or now - changed[1] < self.settle_seconds)

    def _drop(self, key: Key, reason: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry.size
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
        self.metrics.evictions.labels(reason).inc()
