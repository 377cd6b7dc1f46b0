"""Carries out replay requests: a consumer's dead letters applied again, a batch per transaction.

A replay goes through the same handler, inbox and source check as a live delivery, so an event
that was meanwhile applied by another delivery is marked replayed without running twice, and a
forged event stays refused however often it is replayed.
"""

from __future__ import annotations

import asyncio
import json
import logging

import asyncpg

from mesh.db import in_transaction, is_retryable, is_transient
from mesh.events.deadletters import REPLAY_CHANNEL
from mesh.events.handlers import Delivery, EventHandlers
from mesh.events.inbox import apply_once
from mesh.events.wakeup import Wakeup, sleep_unless_stopped
from mesh.retry import backoff_delay

log = logging.getLogger(__name__)


class DeadLetterReplayer:
    """Applies replay-requested dead letters of one consumer and stream, a batch per transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        consumer: str,
        stream: str,
        owner: str | None = None,
        handlers: EventHandlers,
        batch_size: int = 100,
        poll_interval: float = 5.0,
    ) -> None:
        self._pool = pool
        self.consumer = consumer
        self.stream = stream
        self.owner = owner
        self._handlers = handlers
        self._batch_size = batch_size
        self._poll_interval = poll_interval

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self._pool, REPLAY_CHANNEL)
        listening = asyncio.create_task(wakeup.run(stop), name=f"replay-listen-{self.consumer}")
        failures = 0
        try:
            while not stop.is_set():
                wakeup.clear()
                try:
                    replayed = await self.replay_requested()
                except Exception as exc:
                    failures += 1
                    if is_transient(exc):  # the database restarting: expected, retried
                        log.warning(
                            "dead-letter replay waits for the database",
                            extra={"consumer": self.consumer, "error": repr(exc)},
                        )
                    else:
                        log.exception(
                            "dead-letter replay failed", extra={"consumer": self.consumer}
                        )
                    await sleep_unless_stopped(stop, backoff_delay(failures, base=0.2, cap=30.0))
                    continue
                failures = 0
                if replayed < self._batch_size:
                    await wakeup.wait(stop, self._poll_interval)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def replay_requested(self) -> int:
        """Replay one batch; returns how many rows it settled (replayed, or back to pending)."""
        return await in_transaction(self._pool, self._replay_batch)

    async def _replay_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            """
            SELECT id, subject, headers::text AS headers, payload FROM dead_letters
            WHERE consumer = $1 AND stream = $2 AND status = 'replay_requested'
            ORDER BY created_at, id LIMIT $3
            FOR UPDATE SKIP LOCKED
            """,
            self.consumer,
            self.stream,
            self._batch_size,
        )
        headers = [json.loads(row["headers"]) for row in rows]
        await self._handlers.prepare_batch(
            conn,
            [Delivery(r["subject"], h, r["payload"]) for r, h in zip(rows, headers, strict=True)],
        )
        for row, row_headers in zip(rows, headers, strict=True):
            try:
                async with conn.transaction():
                    await apply_once(
                        conn,
                        consumer=self.consumer,
                        handlers=self._handlers,
                        subject=row["subject"],
                        headers=row_headers,
                        payload=row["payload"],
                        owner=self.owner,
                    )
            except Exception as exc:
                if is_retryable(exc) or is_transient(exc):  # retried as a whole, later
                    raise
                # Still failing: back to the operator with the new error.
                log.warning(
                    "replayed dead letter failed again",
                    extra={"consumer": self.consumer, "dead_letter": str(row["id"])},
                )
                await conn.execute(
                    "UPDATE dead_letters SET status = 'pending', error = $2 WHERE id = $1",
                    row["id"],
                    f"replay failed: {exc!r}",
                )
            else:
                await conn.execute(
                    "UPDATE dead_letters SET status = 'replayed', resolved_at = now()"
                    " WHERE id = $1",
                    row["id"],
                )
        return len(rows)
