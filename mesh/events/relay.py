"""The outbox relay: publishes unpublished outbox rows to JetStream and marks them published."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import time
from uuid import UUID

import asyncpg
from nats.js import JetStreamContext, api

from mesh.events.nats import NatsConnection
from mesh.events.outbox import NOTIFY_CHANNEL, OutboxBacklog, backlog
from mesh.events.wakeup import Wakeup, sleep_unless_stopped
from mesh.metrics import ServiceMetrics
from mesh.retry import backoff_delay

log = logging.getLogger(__name__)


def _stamp(acked_at: dict[UUID, float], event_id: UUID, _: object) -> None:
    """Done-callback of a publish future: when its PubAck (or failure) arrived."""
    acked_at.setdefault(event_id, time.monotonic())


class BatchNotPublished(Exception):
    """JetStream did not acknowledge every event of a batch, so none of it is marked published."""

    def __init__(self, errors: dict[UUID, BaseException]) -> None:
        first = next(iter(errors.values()))
        super().__init__(f"{len(errors)} event(s) not acknowledged; first: {first!r}")
        self.errors = errors


class OutboxRelay:
    """Publishes unpublished outbox rows to JetStream, oldest first, one batch per transaction.

    A batch is claimed with FOR UPDATE SKIP LOCKED, so several relays on one database split the
    work instead of repeating it; rows are marked published only after JetStream acknowledged
    every message of the batch, in the transaction that claimed them. A relay that dies between
    the two re-publishes on restart and the stream's Nats-Msg-Id dedup keeps one copy.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        nats: NatsConnection,
        *,
        batch_size: int = 256,
        poll_interval: float = 1.0,
        publish_timeout: float = 10.0,
        retry_cap: float = 5.0,
        metrics: ServiceMetrics | None = None,
        backlog_sample_interval: float = 1.0,
    ) -> None:
        self._pool = pool
        self._nats = nats
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._publish_timeout = publish_timeout
        self._retry_cap = retry_cap
        self._metrics = ServiceMetrics() if metrics is None else metrics
        self._backlog_sample_interval = backlog_sample_interval
        self._backlog_sampled_at = -math.inf

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until stop is set; NATS or PostgreSQL being down only delays publishing."""
        wakeup = Wakeup(self._pool, NOTIFY_CHANNEL)
        listening = asyncio.create_task(wakeup.run(stop), name="outbox-listen")
        failures = 0
        try:
            while not stop.is_set():
                await self.refresh_backlog()
                if not self._nats.is_connected:
                    await self._nats.wait_connected(self._poll_interval)
                    continue
                wakeup.clear()
                try:
                    published = await self.publish_pending()
                except Exception as exc:
                    failures += 1
                    log.warning(
                        "outbox batch not published; will retry", extra={"error": repr(exc)}
                    )
                    delay = backoff_delay(failures, base=0.1, cap=self._retry_cap)
                    await sleep_unless_stopped(stop, delay)
                    continue
                failures = 0
                if published < self._batch_size:  # a full batch means more are waiting
                    await wakeup.wait(stop, self._poll_interval)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def sample_backlog(self) -> OutboxBacklog:
        """Count the unpublished events into the backlog gauges (one indexed query)."""
        waiting = await backlog(self._pool)
        self._metrics.outbox_backlog.set(waiting.unpublished)
        self._metrics.outbox_oldest_age.set(waiting.oldest_age_seconds)
        return waiting

    async def refresh_backlog(self) -> None:
        """sample_backlog at most once per interval, so a busy relay does not count the table
        after every batch; a database that is away is left to the publishing to report."""
        if time.monotonic() - self._backlog_sampled_at < self._backlog_sample_interval:
            return
        self._backlog_sampled_at = time.monotonic()
        try:
            await self.sample_backlog()
        except Exception as exc:
            log.debug("outbox backlog not sampled", extra={"error": repr(exc)})

    async def publish_pending(self) -> int:
        """Publish one batch of the oldest unpublished events; returns how many were published."""
        js = self._nats.jetstream
        claimed: list[UUID] = []
        latencies: list[float] = []
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    "SELECT id, subject, payload, headers::text AS headers FROM outbox"
                    " WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                    self._batch_size,
                )
                claimed = [row["id"] for row in rows]
                if rows:
                    latencies = await self._publish(js, rows)
                    await self._mark_published(conn, claimed)
        except Exception as exc:
            if claimed:
                self._metrics.outbox_publish_failures.inc(len(claimed))
                await self._record_failure(claimed, exc)
            raise
        for seconds in latencies:  # only once the batch is marked published
            self._metrics.outbox_publish_seconds.observe(seconds)
        return len(claimed)

    async def _publish(self, js: JetStreamContext, rows: list[asyncpg.Record]) -> list[float]:
        """Publish the batch and wait for every PubAck; BatchNotPublished names what failed.

        Returns each event's seconds from claim to PubAck."""
        futures: dict[UUID, asyncio.Future[api.PubAck]] = {}
        errors: dict[UUID, BaseException] = {}
        claimed_at = time.monotonic()
        acked_at: dict[UUID, float] = {}
        try:
            # publish_async futures never time out by themselves (a message buffered during a
            # reconnect may never be acknowledged), so the whole batch gets one deadline.
            async with asyncio.timeout(self._publish_timeout):
                for row in rows:
                    try:
                        futures[row["id"]] = await js.publish_async(
                            row["subject"],
                            row["payload"],
                            headers=json.loads(row["headers"]),
                            # No wait_stall: it wraps every publish in wait_for (a task per
                            # message, a third of the relay's time), and the batch deadline
                            # above already bounds a stall on the pending-publish limit.
                        )
                        futures[row["id"]].add_done_callback(
                            functools.partial(_stamp, acked_at, row["id"])
                        )
                    except Exception as exc:  # e.g. over the server's max payload
                        errors[row["id"]] = exc
                if futures:
                    await asyncio.wait(futures.values())
        except TimeoutError:
            pass  # the futures still pending are reported below
        finally:
            # Frees the client's pending-publish slots of whatever did not complete.
            for future in futures.values():
                future.cancel()
        duplicates = 0
        for event_id, future in futures.items():
            if future.cancelled():
                errors[event_id] = TimeoutError(f"no PubAck within {self._publish_timeout} s")
            elif (failure := future.exception()) is not None:
                errors[event_id] = failure
            elif future.result().duplicate:
                duplicates += 1
        if errors:
            raise BatchNotPublished(errors)
        if duplicates:
            log.info("re-published events the stream already had", extra={"count": duplicates})
        return [acked_at[event_id] - claimed_at for event_id in futures if event_id in acked_at]

    async def _mark_published(self, conn: asyncpg.Connection, ids: list[UUID]) -> None:
        await conn.execute(
            "UPDATE outbox SET published_at = now(), attempts = attempts + 1"
            " WHERE id = ANY($1::uuid[])",
            ids,
        )

    async def _record_failure(self, ids: list[UUID], exc: BaseException) -> None:
        # Separate from the rolled-back batch, so the backlog shows which event is stuck and why.
        own = exc.errors if isinstance(exc, BatchNotPublished) else {}
        batch_error = f"batch rolled back: {exc!r}"[:1000]
        try:
            await self._pool.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2"
                " WHERE id = $1 AND published_at IS NULL",
                [(i, repr(own[i])[:1000] if i in own else batch_error) for i in ids],
            )
        except Exception as record_exc:
            log.warning("could not record outbox failure", extra={"error": repr(record_exc)})
