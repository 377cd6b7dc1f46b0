"""Dead letters: recorded by consumers, listed, discarded or replayed by an operator.

A replay goes through the same handler and inbox as a live delivery, so an event that was
meanwhile applied by another delivery is marked replayed without running twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from mesh.db import in_transaction, is_retryable, is_transient
from mesh.events.handlers import Delivery, EventHandlers
from mesh.events.inbox import apply_once
from mesh.events.wakeup import Wakeup, sleep_unless_stopped
from mesh.retry import backoff_delay

log = logging.getLogger(__name__)

REPLAY_CHANNEL = "dead_letters_replay"
STATUSES = ("pending", "replay_requested", "replayed", "discarded")


@dataclass(frozen=True)
class DeadLetter:
    id: UUID
    consumer: str
    stream: str
    stream_seq: int | None
    subject: str
    event_id: UUID | None
    headers: dict[str, str]
    payload: bytes
    error: str
    deliveries: int
    status: str
    created_at: datetime
    resolved_at: datetime | None


async def record_dead_letter(
    conn: asyncpg.Connection,
    *,
    consumer: str,
    stream: str,
    stream_seq: int | None,
    subject: str,
    event_id: UUID | None,
    headers: Mapping[str, str],
    payload: bytes,
    error: str,
    deliveries: int,
) -> None:
    """Keep a message the consumer gives up on; an event awaiting a decision is kept once."""
    await conn.execute(
        """
        INSERT INTO dead_letters
            (consumer, stream, stream_seq, subject, event_id, headers, payload, error, deliveries)
        VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9)
        ON CONFLICT (consumer, event_id) WHERE status IN ('pending', 'replay_requested')
        DO NOTHING
        """,
        consumer,
        stream,
        stream_seq,
        subject,
        event_id,
        json.dumps(dict(headers)),
        payload,
        error,
        deliveries,
    )


_COLUMNS = """id, consumer, stream, stream_seq, subject, event_id, headers::text AS headers,
    payload, error, deliveries, status, created_at, resolved_at"""


def _dead_letter(row: asyncpg.Record) -> DeadLetter:
    values: dict[str, Any] = dict(row)
    values["headers"] = json.loads(values["headers"])
    return DeadLetter(**values)


async def list_dead_letters(
    pool: asyncpg.Pool,
    *,
    consumer: str | None = None,
    status: str | None = "pending",
    limit: int = 100,
) -> list[DeadLetter]:
    """Oldest first; status None lists every status."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    rows = await pool.fetch(
        f"""
        SELECT {_COLUMNS} FROM dead_letters
        WHERE ($1::text IS NULL OR consumer = $1) AND ($2::text IS NULL OR status = $2)
        ORDER BY created_at, id LIMIT $3
        """,
        consumer,
        status,
        limit,
    )
    return [_dead_letter(row) for row in rows]


async def discard(pool: asyncpg.Pool, ids: Sequence[UUID]) -> int:
    """Give up on these dead letters for good; returns how many were still open."""
    result: str = await pool.execute(
        "UPDATE dead_letters SET status = 'discarded', resolved_at = now()"
        " WHERE id = ANY($1::uuid[]) AND status IN ('pending', 'replay_requested')",
        list(ids),
    )
    return int(result.split()[-1])


async def replay(pool: asyncpg.Pool, ids: Sequence[UUID]) -> int:
    """Ask the owning consumers to apply these again (after a fix); returns how many were asked."""

    async def request(conn: asyncpg.Connection) -> int:
        result: str = await conn.execute(
            "UPDATE dead_letters SET status = 'replay_requested'"
            " WHERE id = ANY($1::uuid[]) AND status = 'pending'",
            list(ids),
        )
        await conn.execute("SELECT pg_notify($1, '')", REPLAY_CHANNEL)
        return int(result.split()[-1])

    return await in_transaction(pool, request)


class DeadLetterReplayer:
    """Applies replay-requested dead letters of one consumer and stream, a batch per transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        consumer: str,
        stream: str,
        handlers: EventHandlers,
        batch_size: int = 100,
        poll_interval: float = 5.0,
    ) -> None:
        self._pool = pool
        self.consumer = consumer
        self.stream = stream
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
