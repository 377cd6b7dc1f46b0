"""Retention: the kit deletes the rows it only needs for a while, in small batches.

What is pruned, once older than its window (mesh/retention_settings.py):
- outbox rows that were published (published_at set; never an unpublished one);
- inbox rows (the redelivery guard: keep them past any redelivery the stream can make);
- idempotency keys (a retry after the window runs again, as a new request).

What is never pruned: the lineage (the engagement timeline), the audit log (append-only),
dead letters (an operator resolves them) and revenue's parked events (a parked event is
owed until its contract exists; applying it deletes it, so none is kept once no longer owed).

Each batch is one DELETE of at most `batch_rows` rows picked with FOR UPDATE SKIP LOCKED by
ctid, so a prune never waits on, nor holds for long, a row a request or consumer is using.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from mesh.events.wakeup import sleep_unless_stopped
from mesh.metrics import ServiceMetrics
from mesh.retention_settings import RetentionSettings

log = logging.getLogger(__name__)

# Tables whose rows are kept for good, whatever the settings say.
KEPT_FOR_GOOD = frozenset({"lineage", "audit_log", "dead_letters", "parked_events"})


@dataclass(frozen=True)
class Rule:
    table: str
    age_column: str  # the row's age is now() minus this timestamp
    condition: str = "true"  # rows that may go at all, whatever their age
    window_seconds: float = 0.0

    def statement(self) -> str:
        """$1: the window in seconds, $2: the batch size. Deletes at most one batch."""
        if self.table in KEPT_FOR_GOOD:
            raise ValueError(f"{self.table} is never pruned")
        return (
            f"DELETE FROM {self.table} WHERE ctid = ANY(ARRAY("
            f"SELECT ctid FROM {self.table} WHERE {self.condition}"
            f" AND {self.age_column} < now() - make_interval(secs => $1)"
            " LIMIT $2 FOR UPDATE SKIP LOCKED))"
        )


def rules(settings: RetentionSettings) -> list[Rule]:
    """The kit's tables and how long each row stays (every service has all three tables)."""
    return [
        Rule("outbox", "published_at", "published_at IS NOT NULL", settings.outbox_seconds),
        Rule("inbox", "processed_at", "true", settings.inbox_seconds),
        Rule("idempotent_requests", "created_at", "true", settings.idempotency_seconds),
    ]


def inbox_window_warning(settings: RetentionSettings, duplicate_window: float) -> str | None:
    """Why the inbox window is unsafe, or None. A stream may hand a consumer the same event again
    (a relay re-publish the duplicate window did not catch, an ack lost); once the event's
    inbox row is gone, that copy is applied a second time."""
    if settings.inbox_seconds >= duplicate_window:
        return None
    return (
        f"inbox rows are pruned after {settings.inbox_seconds:g} s, less than the streams'"
        f" duplicate window of {duplicate_window:g} s: an event delivered again after its inbox"
        " row is gone would be applied twice"
    )


class Pruner:
    """Prunes every rule in turn, a batch at a time, every `interval_seconds`."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: RetentionSettings,
        *,
        metrics: ServiceMetrics | None = None,
        duplicate_window: float = 0.0,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._metrics = metrics
        self._duplicate_window = duplicate_window
        self.pruned: dict[str, int] = {}  # every row this pruner deleted, by table

    async def prune_once(self, only: Sequence[Rule] | None = None) -> Mapping[str, int]:
        """One pass: each rule's batches until a batch comes back short; rows deleted, by table."""
        done: dict[str, int] = {}
        for rule in rules(self._settings) if only is None else only:
            statement, total = rule.statement(), 0
            while True:
                async with self._pool.acquire() as conn:
                    status = await conn.execute(
                        statement, rule.window_seconds, self._settings.batch_rows
                    )
                deleted = int(status.rpartition(" ")[2])
                total += deleted
                if deleted < self._settings.batch_rows:
                    break
            done[rule.table] = total
            if total:
                self.pruned[rule.table] = self.pruned.get(rule.table, 0) + total
                if self._metrics is not None:
                    self._metrics.retention_pruned.labels(rule.table).inc(total)
        if any(done.values()):
            log.info("retention pruned", extra={"pruned": done})
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """A service's background task: prune, sleep, until stop; off when the interval is 0."""
        if not self._settings.enabled:
            # Off, yet running until stop like every background task: one that ends is taken
            # for a failure and brings the service down (mesh.grpc.server).
            await stop.wait()
            return
        warning = inbox_window_warning(self._settings, self._duplicate_window)
        if warning is not None:
            log.warning(warning)
        while not stop.is_set():
            try:
                await self.prune_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # The database away or restarting: the next pass catches up.
                log.warning("retention pass failed", extra={"error": repr(exc)})
            await sleep_unless_stopped(stop, self._settings.interval_seconds)
