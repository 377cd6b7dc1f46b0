"""Transactional outbox: events are rows written with the state change they describe.

Writing the event in the caller's transaction is what makes "state changed" and "event will
be published" one fact; the relay (mesh.events.relay) turns rows into JetStream messages and
marks them. An event about an engagement is also written to the lineage table, the
engagement's timeline, which outlives the outbox row (published rows may be pruned).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg
from google.protobuf.message import Message

from mesh.audit.scope import AuditScope, current
from mesh.events.cloudevents import SOURCE_PREFIX, event_headers

NOTIFY_CHANNEL = "outbox"


@dataclass(frozen=True)
class OutgoingEvent:
    """One event to add: the subject, the aggregate it is about, and its protobuf message."""

    subject: str
    aggregate_id: str
    aggregate_version: int
    message: Message


@dataclass(frozen=True)
class OutboxBacklog:
    unpublished: int
    oldest_age_seconds: float  # 0 when nothing is waiting


def engagement_of(message: Message) -> str | None:
    """The engagement an event belongs to: every engagement-related event carries engagement_id."""
    if "engagement_id" not in message.DESCRIPTOR.fields_by_name:
        return None
    value = getattr(message, "engagement_id", "")
    return value if isinstance(value, str) and value else None


async def add_event(
    conn: asyncpg.Connection,
    *,
    source: str,
    subject: str,
    aggregate_id: str,
    aggregate_version: int,
    message: Message,
) -> UUID:
    """Add one event to the outbox in the caller's transaction; returns its id (ce-id)."""
    ids = await add_events(
        conn,
        source=source,
        events=[OutgoingEvent(subject, aggregate_id, aggregate_version, message)],
    )
    return ids[0]


async def add_events(
    conn: asyncpg.Connection, *, source: str, events: Sequence[OutgoingEvent]
) -> list[UUID]:
    """Add events in order, in the caller's transaction; source is the producing service's name."""
    if not conn.is_in_transaction():
        # Outside a transaction the row would commit on its own: the dual write we avoid.
        raise RuntimeError("add_events must run inside the transaction of the state change")
    if not events:
        return []
    rows = []
    ids = []
    scope = current()  # who is acting: carried on the events, noted for the audit row
    for event in events:
        event_id = uuid4()
        engagement = engagement_of(event.message)
        # Headers are built now, while the request's span is current, so the trace survives.
        headers = event_headers(
            event_id=event_id,
            service=source,
            subject=event.subject,
            aggregate_id=event.aggregate_id,
            aggregate_version=event.aggregate_version,
            engagement_id=engagement,
            actor=None if scope is None else scope.actor,
            on_behalf_of=None if scope is None else scope.on_behalf_of,
            request_id=None if scope is None else scope.request_id,
        )
        if scope is not None:
            scope.note_event(event.aggregate_id, engagement)
        ids.append(event_id)
        rows.append(
            (
                event_id,
                event.subject,
                event.aggregate_id,
                event.aggregate_version,
                event.message.SerializeToString(deterministic=True),
                json.dumps(headers),
                engagement,
            )
        )
    await conn.executemany(
        "INSERT INTO outbox"
        " (id, subject, aggregate_id, aggregate_version, payload, headers, engagement_id)"
        " VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7)",
        rows,
    )
    if any(row[6] is not None for row in rows):
        await _add_lineage(conn, source, ids, scope)
    # Delivered to the relay's LISTEN only when (and if) the caller commits.
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return ids


async def _add_lineage(
    conn: asyncpg.Connection, source: str, ids: list[UUID], scope: AuditScope | None
) -> None:
    """The engagement's timeline entries of these events, copied from the rows just written
    (same seq and time), so the timeline no longer depends on the outbox keeping them."""
    await conn.execute(
        "INSERT INTO lineage (event_id, seq, engagement_id, subject, source, aggregate_id,"
        " aggregate_version, created_at, actor, on_behalf_of)"
        " SELECT id, seq, engagement_id, subject, $2, aggregate_id, aggregate_version, created_at,"
        " $3::text, $4::text FROM outbox WHERE id = ANY($1::uuid[]) AND engagement_id IS NOT NULL",
        ids,
        SOURCE_PREFIX + source,
        None if scope is None else scope.actor,
        None if scope is None else scope.on_behalf_of,
    )


async def backlog(pool: asyncpg.Pool) -> OutboxBacklog:
    """How many events wait to be published, and how long the oldest has waited."""
    row = await pool.fetchrow(
        "SELECT count(*) AS unpublished,"
        " coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age"
        " FROM outbox WHERE published_at IS NULL"
    )
    assert row is not None
    return OutboxBacklog(unpublished=row["unpublished"], oldest_age_seconds=row["oldest_age"])
