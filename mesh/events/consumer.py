"""A durable pull consumer that applies each fetched batch in one database transaction.

Per batch: one transaction, a savepoint per message (a failing message rolls back alone),
the inbox row claimed with the effect, then one commit; only then are messages acknowledged.
A failing message is nak'ed with a growing delay and, on its last allowed delivery, kept as a
dead letter and acknowledged. Poison (unreadable) messages are dead-lettered at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from mesh.db import in_transaction, is_retryable, is_transient
from mesh.events.cloudevents import event_id_of
from mesh.events.deadletters import DeadLetterReplayer, record_dead_letter
from mesh.events.handlers import Delivery, EventHandlers, PoisonMessage
from mesh.events.inbox import apply_once
from mesh.events.nats import NatsConnection
from mesh.events.streams import UnsupportedServer, ensure_consumer
from mesh.events.wakeup import sleep_unless_stopped
from mesh.metrics import ServiceMetrics
from mesh.retry import backoff_delay

log = logging.getLogger(__name__)

# The server-side delivery limit is lifted on purpose: JetStream simply stops redelivering a
# message at max_deliver, so a last delivery whose dead-letter insert could not commit (the
# database was down) would be lost. Our own max_deliver decides when to dead-letter instead.
_UNLIMITED_DELIVERIES = -1


@dataclass(frozen=True)
class _Outcome:
    """What became of one message of a batch; counted only once the batch has committed."""

    settled: bool  # acknowledge (True) or redeliver
    kind: str  # processed, duplicate, dead_lettered or failed
    seconds: float


class EventConsumer:
    """Consumes one stream for one service (`name` is the durable and the inbox consumer)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        nats: NatsConnection,
        *,
        name: str,
        stream: str,
        handlers: EventHandlers,
        batch_size: int = 256,
        max_deliver: int = 8,
        ack_wait: float = 30.0,
        fetch_wait: float = 1.0,
        redelivery_base: float = 0.5,
        redelivery_cap: float = 60.0,
        replay_poll_interval: float = 5.0,
        consumer_check_interval: float = 30.0,
        lag_sample_interval: float = 5.0,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        self._pool = pool
        self._nats = nats
        self.name = name
        self.stream = stream
        self._handlers = handlers
        self._batch_size = batch_size
        self._max_deliver = max_deliver
        self._ack_wait = ack_wait
        self._fetch_wait = fetch_wait
        self._redelivery_base = redelivery_base
        self._redelivery_cap = redelivery_cap
        self._consumer_check_interval = consumer_check_interval
        self._lag_sample_interval = lag_sample_interval
        self._lag_sampled_at = -math.inf
        self._metrics = ServiceMetrics() if metrics is None else metrics
        self.replayer = DeadLetterReplayer(
            pool,
            consumer=name,
            stream=stream,
            handlers=handlers,
            poll_interval=replay_poll_interval,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until stop is set, replaying requested dead letters alongside."""
        replaying = asyncio.create_task(self.replayer.run(stop), name=f"replay-{self.name}")
        try:
            await self._consume(stop)
        finally:
            if not replaying.done():
                replaying.cancel()
            await asyncio.gather(replaying, return_exceptions=True)

    async def _consume(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            subscription = await self._subscribe(stop)
            if subscription is None:
                return
            try:
                idle_since = time.monotonic()
                await self._sample_lag(subscription)
                while not stop.is_set():
                    try:
                        messages = await subscription.fetch(
                            self._batch_size, timeout=self._fetch_wait
                        )
                    except TimeoutError:  # nothing to do (or NATS is reconnecting)
                        await self._sample_lag(subscription)
                        if time.monotonic() - idle_since > self._consumer_check_interval:
                            # Servers before 2.10 leave a pull on a deleted consumer silent;
                            # asking now and then turns that into NotFoundError and a rebind.
                            idle_since = time.monotonic()
                            await subscription.consumer_info()
                        continue
                    failures = 0
                    idle_since = time.monotonic()
                    await self.handle_batch(messages)
            except Exception as exc:
                # E.g. the consumer was deleted or the stream recreated: declare and bind again.
                failures += 1
                log.warning("fetch failed", extra={"consumer": self.name, "error": repr(exc)})
                await sleep_unless_stopped(stop, backoff_delay(failures, base=0.1, cap=5.0))
            finally:
                try:
                    await subscription.unsubscribe()
                except Exception as exc:
                    log.debug("unsubscribe failed", extra={"error": repr(exc)})

    async def _subscribe(self, stop: asyncio.Event) -> JetStreamContext.PullSubscription | None:
        """Declare the durable consumer and bind to it, retrying until NATS lets us."""
        failures = 0
        while not stop.is_set():
            if not await self._nats.wait_connected(self._fetch_wait):
                continue
            js = self._nats.jetstream
            try:
                info = await js.stream_info(self.stream)
                subjects = self._handlers.within(info.config.subjects or [])
                if not subjects:
                    raise ValueError(f"no handler of {self.name} is for a subject of {self.stream}")
                await ensure_consumer(
                    js,
                    self.stream,
                    self.name,
                    subjects,
                    ack_wait=self._ack_wait,
                    max_deliver=_UNLIMITED_DELIVERIES,
                )
                return await js.pull_subscribe_bind(durable=self.name, stream=self.stream)
            except (ValueError, UnsupportedServer):
                raise  # a wiring or deployment mistake; retrying will not fix it
            except Exception as exc:
                failures += 1
                log.warning(
                    "cannot bind consumer yet",
                    extra={"consumer": self.name, "stream": self.stream, "error": repr(exc)},
                )
                await sleep_unless_stopped(stop, backoff_delay(failures, base=0.2, cap=10.0))
        return None

    async def _sample_lag(self, subscription: JetStreamContext.PullSubscription) -> None:
        """Pending and ack-pending from JetStream's consumer info, every few idle seconds."""
        if time.monotonic() - self._lag_sampled_at < self._lag_sample_interval:
            return
        self._lag_sampled_at = time.monotonic()
        try:
            info = await subscription.consumer_info()
        except Exception as exc:  # the periodic consumer check decides about rebinding
            log.debug("consumer lag not sampled", extra={"consumer": self.name, "error": repr(exc)})
            return
        self.record_lag(info)

    def record_lag(self, info: ConsumerInfo) -> None:
        self._metrics.consumer_pending.labels(self.name).set(info.num_pending or 0)
        self._metrics.consumer_ack_pending.labels(self.name).set(info.num_ack_pending or 0)

    def _event_type(self, subject: str) -> str:
        # Only the catalogue's subjects become label values: a stray subject cannot add series.
        return subject if self._handlers.get(subject) is not None else "unknown"

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Apply a fetched batch in one transaction, then acknowledge or redeliver each message."""
        for message in messages:
            if message.metadata.num_delivered > 1:
                event_type = self._event_type(message.subject)
                self._metrics.events_redelivered.labels(self.name, event_type).inc()
        try:
            outcomes = await in_transaction(self._pool, lambda conn: self._apply(conn, messages))
        except Exception as exc:
            # Nothing was committed: every message comes back, dead-lettering included.
            log.warning(
                "batch transaction failed; redelivering it",
                extra={"consumer": self.name, "size": len(messages), "error": repr(exc)},
            )
            outcomes = [_Outcome(False, "failed", 0.0)] * len(messages)
        self._count(messages, outcomes)
        settled = [outcome.settled for outcome in outcomes]
        for message, done in zip(messages, settled, strict=True):
            try:
                if done:
                    await message.ack()
                else:
                    await message.nak(delay=self._redelivery_delay(message))
            except Exception as exc:
                # It comes back after ack_wait; the inbox makes that harmless.
                log.debug("ack/nak not sent", extra={"consumer": self.name, "error": repr(exc)})

    def _count(self, messages: Sequence[Msg], outcomes: Sequence[_Outcome]) -> None:
        metrics = self._metrics
        counters = {
            "processed": metrics.events_processed,
            "duplicate": metrics.events_duplicate,
            "dead_lettered": metrics.events_dead_lettered,
        }
        for message, outcome in zip(messages, outcomes, strict=True):
            counter = counters.get(outcome.kind)
            if counter is None:
                continue
            event_type = self._event_type(message.subject)
            counter.labels(self.name, event_type).inc()
            if outcome.kind == "processed":
                metrics.event_handler_seconds.labels(self.name, event_type).observe(outcome.seconds)
        if messages:
            # What JetStream still holds for us after this batch (ack-pending comes with idling).
            metrics.consumer_pending.labels(self.name).set(messages[-1].metadata.num_pending or 0)

    async def _apply(self, conn: asyncpg.Connection, messages: Sequence[Msg]) -> list[_Outcome]:
        """Per message: settled (applied, duplicate, or dead-lettered) or to be redelivered."""
        outcomes: list[_Outcome] = []
        await self._handlers.prepare_batch(
            conn, [Delivery(m.subject, m.headers or {}, m.data) for m in messages]
        )
        for message in messages:
            deliveries = message.metadata.num_delivered
            started = time.perf_counter()
            try:
                async with conn.transaction():  # a savepoint inside the batch transaction
                    applied = await apply_once(
                        conn,
                        consumer=self.name,
                        handlers=self._handlers,
                        subject=message.subject,
                        headers=message.headers or {},
                        payload=message.data,
                    )
            except PoisonMessage as exc:
                await self._dead_letter(conn, message, exc)
                outcomes.append(_Outcome(True, "dead_lettered", 0.0))
            except Exception as exc:
                if is_retryable(exc) or is_transient(exc):
                    # Rerun the whole batch: on a fresh snapshot, or once the database (or
                    # whatever the handler needed) is back. An outage is no reason to give up
                    # on a message, so it never counts towards dead-lettering it.
                    raise
                if deliveries >= self._max_deliver:
                    await self._dead_letter(conn, message, exc)
                    outcomes.append(_Outcome(True, "dead_lettered", 0.0))
                else:
                    log.warning(
                        "event handler failed; will redeliver",
                        extra={
                            "consumer": self.name,
                            "subject": message.subject,
                            "deliveries": deliveries,
                            "error": repr(exc),
                        },
                    )
                    outcomes.append(_Outcome(False, "failed", 0.0))
            else:
                kind = "processed" if applied else "duplicate"
                outcomes.append(_Outcome(True, kind, time.perf_counter() - started))
        return outcomes

    async def _dead_letter(self, conn: asyncpg.Connection, message: Msg, exc: Exception) -> None:
        headers = message.headers or {}
        event_id = event_id_of(headers)
        metadata = message.metadata
        log.error(
            "event dead-lettered",
            extra={
                "consumer": self.name,
                "subject": message.subject,
                "event_id": str(event_id),
                "deliveries": metadata.num_delivered,
                "error": repr(exc),
            },
        )
        await record_dead_letter(
            conn,
            consumer=self.name,
            stream=self.stream,
            stream_seq=metadata.sequence.stream,
            subject=message.subject,
            event_id=event_id,
            headers=headers,
            payload=message.data,
            error=repr(exc),
            deliveries=metadata.num_delivered,
        )

    def _redelivery_delay(self, message: Msg) -> float:
        return backoff_delay(
            message.metadata.num_delivered, base=self._redelivery_base, cap=self._redelivery_cap
        )
