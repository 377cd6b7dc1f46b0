"""Applies one fetched batch in one database transaction, then acknowledges or redelivers.

Per batch: one transaction, a savepoint per message (a failing message rolls back alone), the
inbox row claimed with the effect, then one commit; only then are messages acknowledged. A
failing message is nak'ed with a growing delay and, on its last allowed delivery, kept as a
dead letter and acknowledged. Poison (unreadable, or from a source that does not own the
stream) messages are dead-lettered at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from nats.aio.msg import Msg

from mesh.db import in_transaction, is_retryable, is_transient
from mesh.events.cloudevents import event_id_of
from mesh.events.deadletters import record_dead_letter
from mesh.events.handlers import Delivery, EventHandlers, PoisonMessage
from mesh.events.inbox import apply_once
from mesh.events.redelivery import RedeliveryPolicy
from mesh.metrics import ServiceMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of one message of a batch; counted only once the batch has committed."""

    settled: bool  # acknowledge (True) or redeliver
    kind: str  # processed, duplicate, dead_lettered or failed
    seconds: float


class BatchApplier:
    """The effects of one consumer's batches: `consumer` names its inbox rows and dead letters;
    every event must come from `owner` (the ce-source of the stream's producing domain)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        consumer: str,
        stream: str,
        owner: str,
        handlers: EventHandlers,
        policy: RedeliveryPolicy,
        metrics: ServiceMetrics,
    ) -> None:
        self._pool = pool
        self.consumer = consumer
        self.stream = stream
        self.owner = owner
        self._handlers = handlers
        self.policy = policy
        self._metrics = metrics

    def event_type(self, subject: str) -> str:
        # Only the catalogue's subjects become label values: a stray subject cannot add series.
        return subject if self._handlers.get(subject) is not None else "unknown"

    async def handle(self, messages: Sequence[Msg]) -> None:
        """Apply a fetched batch in one transaction, then acknowledge or redeliver each message."""
        for message in messages:
            if message.metadata.num_delivered > 1:
                event_type = self.event_type(message.subject)
                self._metrics.events_redelivered.labels(self.consumer, event_type).inc()
        try:
            outcomes = await in_transaction(self._pool, lambda conn: self._apply(conn, messages))
        except Exception as exc:
            # Nothing was committed: every message comes back, dead-lettering included.
            log.warning(
                "batch transaction failed; redelivering it",
                extra={"consumer": self.consumer, "size": len(messages), "error": repr(exc)},
            )
            outcomes = [Outcome(False, "failed", 0.0)] * len(messages)
        self._count(messages, outcomes)
        for message, outcome in zip(messages, outcomes, strict=True):
            try:
                if outcome.settled:
                    await message.ack()
                else:
                    await message.nak(delay=self.policy.delay(message.metadata.num_delivered))
            except Exception as exc:
                # It comes back after ack_wait; the inbox makes that harmless.
                log.debug("ack/nak not sent", extra={"consumer": self.consumer, "error": repr(exc)})

    async def _count_failure(self, conn: asyncpg.Connection, message: Msg) -> int:
        """The handler's own failures on this message so far, this one included. Counted in the
        batch transaction: a batch an outage rolls back counts nothing (num_delivered would)."""
        failures: int = await conn.fetchval(
            "INSERT INTO delivery_failures (consumer, stream_sequence, failures) VALUES ($1, $2, 1)"
            " ON CONFLICT (consumer, stream_sequence) DO UPDATE"
            " SET failures = delivery_failures.failures + 1, last_failed_at = now()"
            " RETURNING failures",
            self.consumer,
            message.metadata.sequence.stream,
        )
        return failures

    def _count(self, messages: Sequence[Msg], outcomes: Sequence[Outcome]) -> None:
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
            event_type = self.event_type(message.subject)
            counter.labels(self.consumer, event_type).inc()
            if outcome.kind == "processed":
                metrics.event_handler_seconds.labels(self.consumer, event_type).observe(
                    outcome.seconds
                )
        if messages:
            # What JetStream still holds for us after this batch (ack-pending comes with idling).
            pending = messages[-1].metadata.num_pending or 0
            metrics.consumer_pending.labels(self.consumer).set(pending)

    async def _apply(self, conn: asyncpg.Connection, messages: Sequence[Msg]) -> list[Outcome]:
        """Per message: settled (applied, duplicate, or dead-lettered) or to be redelivered."""
        outcomes: list[Outcome] = []
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
                        consumer=self.consumer,
                        handlers=self._handlers,
                        subject=message.subject,
                        headers=message.headers or {},
                        payload=message.data,
                        owner=self.owner,
                        stream_seq=message.metadata.sequence.stream,
                    )
            except PoisonMessage as exc:
                await self._dead_letter(conn, message, exc)
                outcomes.append(Outcome(True, "dead_lettered", 0.0))
            except Exception as exc:
                if is_retryable(exc) or is_transient(exc):
                    # Rerun the whole batch: on a fresh snapshot, or once the database (or
                    # whatever the handler needed) is back. An outage is no reason to give up
                    # on a message, so it never counts towards dead-lettering it.
                    raise
                if self.policy.is_last(await self._count_failure(conn, message)):
                    await self._dead_letter(conn, message, exc)
                    outcomes.append(Outcome(True, "dead_lettered", 0.0))
                else:
                    log.warning(
                        "event handler failed; will redeliver",
                        extra={
                            "consumer": self.consumer,
                            "subject": message.subject,
                            "deliveries": deliveries,
                            "error": repr(exc),
                        },
                    )
                    outcomes.append(Outcome(False, "failed", 0.0))
            else:
                kind = "processed" if applied else "duplicate"
                outcomes.append(Outcome(True, kind, time.perf_counter() - started))
        return outcomes

    async def _dead_letter(self, conn: asyncpg.Connection, message: Msg, exc: Exception) -> None:
        headers = message.headers or {}
        event_id = event_id_of(headers)
        metadata = message.metadata
        log.error(
            "event dead-lettered",
            extra={
                "consumer": self.consumer,
                "subject": message.subject,
                "event_id": str(event_id),
                "deliveries": metadata.num_delivered,
                "error": repr(exc),
            },
        )
        await record_dead_letter(
            conn,
            consumer=self.consumer,
            stream=self.stream,
            stream_seq=metadata.sequence.stream,
            subject=message.subject,
            event_id=event_id,
            headers=headers,
            payload=message.data,
            error=repr(exc),
            deliveries=metadata.num_delivered,
        )
