"""Dead letters: recorded by consumers, listed, discarded or replayed by an operator.

A replay request is carried out by the owning consumer's DeadLetterReplayer
(mesh.events.replayer), through the same handler and inbox as a live delivery.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from mesh.db import in_transaction

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
    """Give up on these dead letters for good; returns how many were still open. In a
    transaction of its own, so an operator's call is audited with it (mesh.audit)."""

    async def give_up(conn: asyncpg.Connection) -> int:
        result: str = await conn.execute(
            "UPDATE dead_letters SET status = 'discarded', resolved_at = now()"
            " WHERE id = ANY($1::uuid[]) AND status IN ('pending', 'replay_requested')",
            list(ids),
        )
        return int(result.split()[-1])

    return await in_transaction(pool, give_up)


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
