"""SQL of receipts: dedup on insert, the worker's claim, listing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import asyncpg
from google.protobuf.message import Message

from mesh.events.cloudevents import event_headers
from mesh.events.outbox import NOTIFY_CHANNEL as OUTBOX_CHANNEL
from services.connect.convert.events import RECEIPT_ACCEPTED, accepted_message
from services.connect.domain.model import NewReceipt, Receipt, ReceiptStatus
from services.connect.handlers.ports import Cursor

# Wakes the receipt worker (workers/receipts.py) when a receipt is stored or requeued.
NOTIFY_CHANNEL = "connect_receipts"

_COLUMNS = """id, source, event_id, external_id, payload, status, attempts, last_error,
              engagement_id, customer_matched_by, exception_id, received_at, processed_at"""


def _receipt(row: asyncpg.Record) -> Receipt:
    return Receipt(
        id=row["id"],
        source=row["source"],
        event_id=row["event_id"],
        external_id=row["external_id"],
        payload=row["payload"],
        status=ReceiptStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        engagement_id=row["engagement_id"],
        customer_matched_by=row["customer_matched_by"],
        exception_id=row["exception_id"],
        received_at=row["received_at"],
        processed_at=row["processed_at"],
    )


def _accepted(n: NewReceipt) -> Message:
    return accepted_message(n.id, 1, n.source, n.event.event_id, n.event.external_id)


def _headers(event_id: uuid.UUID, n: NewReceipt) -> dict[str, str]:
    return event_headers(
        event_id=event_id,
        service="connect",
        subject=RECEIPT_ACCEPTED,
        aggregate_id=str(n.id),
        aggregate_version=1,
    )


class ReceiptRows:
    conn: asyncpg.Connection

    async def add_receipts(self, new: Sequence[NewReceipt]) -> list[Receipt]:
        if not new:
            return []
        rows = await self.conn.fetch(
            f"""INSERT INTO receipts (id, source, event_id, external_id, payload)
                SELECT id, source, event_id, external_id, payload::jsonb
                  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
                       AS e(id, source, event_id, external_id, payload)
                ON CONFLICT (source, event_id) DO NOTHING
                RETURNING {_COLUMNS}""",
            [n.id for n in new],
            [n.source for n in new],
            [n.event.event_id for n in new],
            [n.event.external_id for n in new],
            [json.dumps(n.event.payload) for n in new],
        )
        if rows:
            await self.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        return [_receipt(row) for row in rows]

    async def add_receipts_accepted(self, new: Sequence[NewReceipt]) -> list[Receipt]:
        """add_receipts and the stored ones' receipt.accepted in the outbox, in one statement:
        outside a transaction it commits on its own (no BEGIN and COMMIT round trips), and a
        receipt is never stored without its event. The NOTIFYs wake the worker and relay."""
        if not new:
            return []
        events = [(uuid.uuid4(), n) for n in new]
        rows = await self.conn.fetch(
            f"""WITH new AS (
                    INSERT INTO receipts (id, source, event_id, external_id, payload)
                    SELECT id, source, event_id, external_id, payload::jsonb
                      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
                           AS e(id, source, event_id, external_id, payload)
                    ON CONFLICT (source, event_id) DO NOTHING
                    RETURNING {_COLUMNS}),
                accepted AS (
                    INSERT INTO outbox (id, subject, aggregate_id, aggregate_version, payload,
                                        headers)
                    SELECT o.id, $6, o.receipt_id::text, 1, o.payload, o.headers::jsonb
                      FROM unnest($1::uuid[], $7::uuid[], $8::bytea[], $9::text[])
                           AS o(receipt_id, id, payload, headers)
                     WHERE o.receipt_id IN (SELECT id FROM new))
                SELECT new.*, pg_notify($10, ''), pg_notify($11, '') FROM new""",
            [n.id for n in new],
            [n.source for n in new],
            [n.event.event_id for n in new],
            [n.event.external_id for n in new],
            [json.dumps(n.event.payload) for n in new],
            RECEIPT_ACCEPTED,
            [event_id for event_id, _ in events],
            [_accepted(n).SerializeToString(deterministic=True) for _, n in events],
            [json.dumps(_headers(event_id, n)) for event_id, n in events],
            NOTIFY_CHANNEL,
            OUTBOX_CHANNEL,
        )
        return [_receipt(row) for row in rows]

    async def get_receipt(self, receipt_id: uuid.UUID) -> Receipt | None:
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM receipts WHERE id = $1", receipt_id)
        return _receipt(row) if row else None

    async def claim_due_receipts(self, limit: int) -> list[Receipt]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM receipts
                 WHERE status = 'PENDING' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, received_at
                 LIMIT $1 FOR UPDATE SKIP LOCKED""",
            limit,
        )
        return [_receipt(row) for row in rows]

    async def save_receipts(self, settled: Sequence[tuple[Receipt, float | None]]) -> None:
        await self.conn.executemany(
            """UPDATE receipts SET status = $2, attempts = $3, last_error = $4,
                      engagement_id = $5, customer_matched_by = $6, exception_id = $7,
                      processed_at = $8,
                      next_attempt_at = now() + make_interval(secs => $9)
                WHERE id = $1""",
            [
                (
                    r.id,
                    r.status.value,
                    r.attempts,
                    r.last_error,
                    r.engagement_id,
                    r.customer_matched_by,
                    r.exception_id,
                    r.processed_at,
                    retry_in or 0.0,
                )
                for r, retry_in in settled
            ],
        )

    async def requeue_receipt(self, receipt_id: uuid.UUID) -> None:
        await self.conn.execute(
            """UPDATE receipts SET status = 'PENDING', attempts = 0, next_attempt_at = now()
                WHERE id = $1""",
            receipt_id,
        )
        await self.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)

    async def receipts_page(
        self, *, source: str | None, after: Cursor | None, limit: int
    ) -> list[Receipt]:
        at, after_id = after if after else (None, None)
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM receipts
                 WHERE ($1::text IS NULL OR source = $1)
                   AND ($2::timestamptz IS NULL OR (received_at, id) < ($2, $3::uuid))
                 ORDER BY received_at DESC, id DESC LIMIT $4""",
            source,
            at,
            after_id,
            limit,
        )
        return [_receipt(row) for row in rows]
