"""SQL of deliveries (fan-out, the worker's ordered claim, listing, replay) and of the
engagement status connect keeps for write-back and entity filters."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

import asyncpg

from mesh.events.outbox import add_event
from services.connect.convert.outbound_events import to_message
from services.connect.domain.delivery import Delivery, DeliveryStatus, TargetKind
from services.connect.domain.outbound_events import OutboundEvent
from services.connect.domain.writeback import EngagementStatus
from services.connect.handlers.outbound_ports import Cursor

# Wakes the delivery worker (services/connect/workers/deliveries.py).
NOTIFY_CHANNEL = "connect_deliveries"

_COLUMNS = """d.id, d.seq, d.target_kind, d.target_id, d.event_id, d.event_type, d.event_time,
              d.subject, d.engagement_id, d.order_key, d.payload, d.status, d.attempts,
              d.last_status, d.last_error, d.next_attempt_at, d.window_start, d.version,
              d.created_at, d.delivered_at, d.stream, d.stream_seq"""
_STATUS = """engagement_id, legal_entity, code, status, crm_system, crm_record_id, currency,
             invoiced, paid, recognized, recognized_version"""


def _below_floor(streams: str, floors: str) -> str:
    """SQL: connect's consumer acknowledged the event and all before it (adapters/floors.py);
    params `streams` and `floors`: parallel arrays (stream domain, ack floor), see _arrays."""
    return f"""(d.stream_seq IS NULL OR d.stream_seq <= coalesce((SELECT f.floor FROM unnest(
      {streams}::text[], {floors}::bigint[]) AS f(stream, floor) WHERE f.stream = d.stream), 0))"""


def _arrays(floors: Mapping[str, int]) -> tuple[list[str], list[int]]:
    return sorted(floors), [floors[s] for s in sorted(floors)]


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        id=row["id"],
        seq=row["seq"],
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        event_time=row["event_time"],
        subject=row["subject"],
        engagement_id=row["engagement_id"],
        order_key=row["order_key"],
        payload=row["payload"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
        window_start=row["window_start"],
        version=row["version"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
        stream=row["stream"] or "",
        stream_seq=row["stream_seq"] or 0,
    )


class DeliveryRows:
    conn: asyncpg.Connection

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        # One row at a time keeps `seq` in the order given (the events' order).
        added = 0
        for d in deliveries:
            done = await self.conn.execute(
                """INSERT INTO deliveries (id, target_kind, target_id, event_id, event_type,
                       event_time, subject, engagement_id, order_key, payload, stream,
                       stream_seq, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, clock_timestamp())
                   ON CONFLICT (target_id, event_id) DO NOTHING""",
                d.id,
                d.target_kind.value,
                d.target_id,
                d.event_id,
                d.event_type,
                d.event_time,
                d.subject,
                d.engagement_id,
                d.order_key,
                d.payload,
                d.stream or None,
                d.stream_seq or None,
            )
            added += done == "INSERT 0 1"
        if added:
            await self.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        return added

    async def claim_due_deliveries(self, limit: int, floors: Mapping[str, int]) -> list[Delivery]:
        """The head of each (target, order key) chain by (event time, stream sequence, seq),
        once its event is at or below its stream's ack floor (the chain waits till then)."""
        streams, seqs = _arrays(floors)
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM deliveries d
                 LEFT JOIN webhook_endpoints w ON w.id = d.target_id
                 LEFT JOIN crm_writebacks c ON c.id = d.target_id
                 WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
                   AND coalesce(w.enabled, c.enabled, false)
                   AND {_below_floor("$2", "$3")}
                   AND NOT EXISTS (
                       SELECT 1 FROM deliveries e
                        WHERE e.target_id = d.target_id AND e.order_key = d.order_key
                          AND e.status = 'PENDING'
                          AND (e.event_time, coalesce(e.stream_seq, 0), e.seq)
                              < (d.event_time, coalesce(d.stream_seq, 0), d.seq))
                 ORDER BY d.next_attempt_at, d.seq
                 LIMIT $1 FOR UPDATE OF d SKIP LOCKED""",
            limit,
            streams,
            seqs,
        )
        return [_delivery(row) for row in rows]

    async def deliveries_held(self, floors: Mapping[str, int]) -> bool:
        streams, seqs = _arrays(floors)
        held: bool = await self.conn.fetchval(
            f"""SELECT EXISTS (SELECT 1 FROM deliveries d
                 LEFT JOIN webhook_endpoints w ON w.id = d.target_id
                 LEFT JOIN crm_writebacks c ON c.id = d.target_id
                 WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
                   AND coalesce(w.enabled, c.enabled, false)
                   AND NOT {_below_floor("$1", "$2")})""",
            streams,
            seqs,
        )
        return held

    async def save_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        await self.conn.executemany(
            """UPDATE deliveries SET status = $2, attempts = $3, last_status = $4,
                      last_error = $5, next_attempt_at = $6, version = $7, delivered_at = $8,
                      payload = $9
                WHERE id = $1""",
            [
                (d.id, d.status.value, d.attempts, d.last_status, d.last_error,
                 d.next_attempt_at, d.version, d.delivered_at, d.payload)
                for d in deliveries
            ],
        )  # fmt: skip

    async def get_delivery(self, delivery_id: uuid.UUID) -> Delivery | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM deliveries d WHERE d.id = $1", delivery_id
        )
        return _delivery(row) if row else None

    async def deliveries_page(
        self,
        *,
        target_id: uuid.UUID,
        status: DeliveryStatus | None,
        after: Cursor | None,
        limit: int,
    ) -> list[Delivery]:
        at, after_id = after if after else (None, None)
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM deliveries d
                 WHERE d.target_id = $1 AND ($2::text IS NULL OR d.status = $2)
                   AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4::uuid))
                 ORDER BY d.created_at DESC, d.id DESC LIMIT $5""",
            target_id,
            status.value if status else None,
            at,
            after_id,
            limit,
        )
        return [_delivery(row) for row in rows]

    async def replay_failed(self, target_id: uuid.UUID, since: dt.datetime) -> int:
        count: int = await self.conn.fetchval(
            """WITH replayed AS (
                   UPDATE deliveries SET status = 'PENDING', attempts = 0, last_error = '',
                          next_attempt_at = now(), window_start = now(), version = version + 1
                    WHERE target_id = $1 AND status = 'FAILED' AND created_at >= $2
                   RETURNING 1)
               SELECT count(*) FROM replayed""",
            target_id,
            since,
        )
        if count:
            await self.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        return count

    async def lock_engagements(self, engagement_ids: Sequence[str]) -> None:
        ids = sorted(set(engagement_ids))
        if not ids:
            return
        await self.conn.execute(
            """INSERT INTO engagement_status (engagement_id)
               SELECT unnest($1::text[]) ON CONFLICT DO NOTHING""",
            ids,
        )
        await self.conn.execute(
            """SELECT 1 FROM engagement_status WHERE engagement_id = ANY($1::text[])
                ORDER BY engagement_id FOR UPDATE""",
            ids,
        )

    async def get_engagement_status(self, engagement_id: str) -> EngagementStatus | None:
        row = await self.conn.fetchrow(
            f"SELECT {_STATUS} FROM engagement_status WHERE engagement_id = $1", engagement_id
        )
        if row is None:
            return None
        return EngagementStatus(**dict(row))

    async def save_engagement_status(self, s: EngagementStatus) -> None:
        await self.conn.execute(
            f"""INSERT INTO engagement_status ({_STATUS})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (engagement_id) DO UPDATE SET legal_entity = $2, code = $3,
                    status = $4, crm_system = $5, crm_record_id = $6, currency = $7,
                    invoiced = $8, paid = $9, recognized = $10, recognized_version = $11,
                    updated_at = now()""",
            s.engagement_id,
            s.legal_entity,
            s.code,
            s.status,
            s.crm_system,
            s.crm_record_id,
            s.currency,
            s.invoiced,
            s.paid,
            s.recognized,
            s.recognized_version,
        )

    async def emit_outbound(self, event: OutboundEvent) -> None:
        subject, aggregate_id, version, message = to_message(event)
        await add_event(
            self.conn,
            source="connect",
            subject=subject,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            message=message,
        )
