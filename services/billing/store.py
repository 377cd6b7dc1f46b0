"""All invoice SQL of the billing service (asyncpg), behind the BillingRepository protocol."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

from mesh.events.outbox import add_event
from mesh.money import Money
from services.billing import events
from services.billing.domain.aging import OpenBalance
from services.billing.domain.model import (
    BillableItem,
    Invoice,
    InvoiceEvent,
    InvoiceStatus,
    Payment,
)
from services.billing.handlers import InvoiceFilter, NumberKind
from services.billing.replica_store import ITEM_COLUMNS, ReplicaStore, item_from_row

_UNBILLED = "NOT EXISTS (SELECT 1 FROM invoice_items x WHERE x.item_id = i.id AND x.live)"


def _invoice(row: asyncpg.Record, lines: list[BillableItem], payments: list[Payment]) -> Invoice:
    currency = row["currency"]
    return Invoice(
        id=row["id"],
        engagement_id=row["engagement_id"],
        customer_id=row["customer_id"],
        legal_entity=row["legal_entity"],
        currency=currency,
        status=InvoiceStatus(row["status"]),
        lines=lines,
        subtotal=Money(row["subtotal"], currency),
        tax=Money(row["tax"], currency),
        tax_rate=row["tax_rate"],
        tax_note=row["tax_note"],
        total=Money(row["total"], currency),
        amount_paid=Money(row["amount_paid"], currency),
        number=row["number"],
        issue_date=row["issue_date"],
        due_date=row["due_date"],
        customer_country=row["customer_country"],
        credit_note_number=row["credit_note_number"],
        void_reason=row["void_reason"],
        voided_on=row["voided_on"],
        payments=payments,
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class BillingStore(ReplicaStore):
    """A repository bound to one connection inside the caller's transaction."""

    async def _assemble(self, rows: Sequence[asyncpg.Record]) -> list[Invoice]:
        """Invoices with their lines and payments: three queries however many invoices."""
        ids = [row["id"] for row in rows]
        lines: dict[uuid.UUID, list[BillableItem]] = {i: [] for i in ids}
        payments: dict[uuid.UUID, list[Payment]] = {i: [] for i in ids}
        for row in await self.conn.fetch(
            f"""SELECT x.invoice_id, {ITEM_COLUMNS}
                  FROM invoice_items x JOIN billable_items i ON i.id = x.item_id
                 WHERE x.invoice_id = ANY($1::uuid[])
                 ORDER BY i.service_date, i.kind, i.source_id""",
            ids,
        ):
            lines[row["invoice_id"]].append(item_from_row(row))
        for row in await self.conn.fetch(
            "SELECT * FROM payments WHERE invoice_id = ANY($1::uuid[])"
            " ORDER BY received_on, recorded_at, id",
            ids,
        ):
            payments[row["invoice_id"]].append(
                Payment(
                    id=row["id"],
                    invoice_id=row["invoice_id"],
                    amount=Money(row["amount"], row["currency"]),
                    received_on=row["received_on"],
                    reference=row["reference"],
                    recorded_at=row["recorded_at"],
                )
            )
        return [_invoice(row, lines[row["id"]], payments[row["id"]]) for row in rows]

    async def invoices(
        self, ids: Sequence[uuid.UUID], *, for_update: bool = False
    ) -> dict[uuid.UUID, Invoice]:
        lock = " FOR UPDATE" if for_update else ""  # in id order: no deadlock between lockers
        rows = await self.conn.fetch(
            f"SELECT * FROM invoices WHERE id = ANY($1::uuid[]) ORDER BY id{lock}", list(set(ids))
        )
        return {found.id: found for found in await self._assemble(rows)}

    async def lock_engagements_to_bill(
        self, cutoff: dt.date, engagement_id: uuid.UUID | None, legal_entity: str | None
    ) -> list[uuid.UUID]:
        # NO KEY UPDATE: runs queue on each other, while item inserts (a foreign key share
        # lock on the engagement) go on.
        rows = await self.conn.fetch(
            f"""SELECT e.id FROM engagements e
                 WHERE ($2::uuid IS NULL OR e.id = $2) AND ($3::text IS NULL OR e.legal_entity = $3)
                   AND EXISTS (SELECT 1 FROM billable_items i
                                WHERE i.engagement_id = e.id AND i.service_date <= $1
                                  AND {_UNBILLED})
                 ORDER BY e.id
                   FOR NO KEY UPDATE OF e""",
            cutoff,
            engagement_id,
            legal_entity,
        )
        return [row["id"] for row in rows]

    async def draft_unbilled(
        self, engagement_ids: Sequence[uuid.UUID], cutoff: dt.date
    ) -> list[uuid.UUID]:
        """Puts the unbilled items on each engagement's draft (created if missing); returns
        the drafts that got lines. Call with the engagements locked."""
        # Locked, so an issue that commits meanwhile is seen: its invoice is no draft anymore.
        existing = await self.conn.fetch(
            "SELECT id, engagement_id FROM invoices"
            " WHERE engagement_id = ANY($1::uuid[]) AND status = 'DRAFT' ORDER BY id FOR UPDATE",
            engagement_ids,
        )
        # Checked again now: a run that held the lock before us may have drafted them all.
        await self.conn.execute(
            f"""INSERT INTO invoices (id, engagement_id, customer_id, legal_entity, currency,
                                     status)
                SELECT gen_random_uuid(), e.id,
                       coalesce(a.survivor_id, e.customer_id), e.legal_entity, e.currency, 'DRAFT'
                  FROM engagements e LEFT JOIN customer_aliases a ON a.merged_id = e.customer_id
                 WHERE e.id = ANY($1::uuid[]) AND e.id <> ALL($2::uuid[])
                   AND EXISTS (SELECT 1 FROM billable_items i
                                WHERE i.engagement_id = e.id AND i.service_date <= $3
                                  AND {_UNBILLED})""",
            engagement_ids,
            [row["engagement_id"] for row in existing],
            cutoff,
        )
        attached = await self.conn.fetch(
            f"""INSERT INTO invoice_items (invoice_id, item_id)
                SELECT d.id, i.id
                  FROM billable_items i
                  JOIN invoices d ON d.engagement_id = i.engagement_id AND d.status = 'DRAFT'
                 WHERE i.engagement_id = ANY($1::uuid[]) AND i.service_date <= $2 AND {_UNBILLED}
                RETURNING invoice_id""",
            engagement_ids,
            cutoff,
        )
        changed = {row["invoice_id"] for row in attached}
        await self.conn.execute(
            "UPDATE invoices SET version = version + 1, updated_at = now()"
            " WHERE id = ANY($1::uuid[])",
            [row["id"] for row in existing if row["id"] in changed],
        )
        return sorted(changed)

    async def save(self, invoices: Sequence[Invoice]) -> None:
        await self.conn.executemany(
            """UPDATE invoices
                  SET customer_id = $2, status = $3, number = $4, issue_date = $5,
                      due_date = $6, customer_country = $7, subtotal = $8, tax = $9,
                      tax_rate = $10, tax_note = $11, total = $12, amount_paid = $13,
                      credit_note_number = $14, void_reason = $15, voided_on = $16,
                      version = $17, updated_at = $18,
                      issued_at = CASE WHEN issued_at IS NULL AND $4::text IS NOT NULL
                                       THEN clock_timestamp() ELSE issued_at END
                WHERE id = $1""",
            [
                (
                    i.id,
                    i.customer_id,
                    i.status.value,
                    i.number,
                    i.issue_date,
                    i.due_date,
                    i.customer_country,
                    i.subtotal.amount,
                    i.tax.amount,
                    i.tax_rate,
                    i.tax_note,
                    i.total.amount,
                    i.amount_paid.amount,
                    i.credit_note_number,
                    i.void_reason,
                    i.voided_on,
                    i.version,
                    i.updated_at,
                )
                for i in invoices
            ],
        )

    async def allocate_number(self, legal_entity: str, kind: NumberKind, year: int) -> int:
        """The next number of the entity, kind and year, from its counter row: the row lock
        queues concurrent issuers (from any process) until this transaction ends, and a
        rollback undoes the increment, so numbers never skip or repeat and follow the order
        in which issues commit."""
        value: int = await self.conn.fetchval(
            """INSERT INTO number_sequences AS s (legal_entity, kind, year, last_value)
               VALUES ($1, $2, $3, 1)
               ON CONFLICT (legal_entity, kind, year) DO UPDATE SET last_value = s.last_value + 1
               RETURNING last_value""",
            legal_entity,
            kind.value,
            year,
        )
        return value

    async def release_items(self, invoice_id: uuid.UUID) -> None:
        await self.conn.execute(
            "UPDATE invoice_items SET live = false WHERE invoice_id = $1 AND live", invoice_id
        )

    async def payment_by_reference(self, invoice_id: uuid.UUID, reference: str) -> Payment | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM payments WHERE invoice_id = $1 AND reference = $2",
            invoice_id,
            reference,
        )
        if row is None:
            return None
        return Payment(
            row["id"],
            row["invoice_id"],
            Money(row["amount"], row["currency"]),
            row["received_on"],
            row["reference"],
            row["recorded_at"],
        )

    async def add_payment(self, payment: Payment) -> None:
        await self.conn.execute(
            """INSERT INTO payments (id, invoice_id, amount, currency, received_on, reference,
                                     recorded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            payment.id,
            payment.invoice_id,
            payment.amount.amount,
            payment.amount.currency,
            payment.received_on,
            payment.reference,
            payment.recorded_at,
        )

    async def emit(self, event: InvoiceEvent) -> None:
        subject, message = events.to_message(event)
        await add_event(
            self.conn,
            source="billing",
            subject=subject,
            aggregate_id=str(event.invoice.id),
            aggregate_version=event.invoice.version,
            message=message,
        )

    async def page(
        self, *, where: InvoiceFilter, after: tuple[dt.date, uuid.UUID] | None, limit: int
    ) -> list[Invoice]:
        after_date, after_id = after if after else (None, None)
        rows = await self.conn.fetch(
            """SELECT * FROM invoices
                WHERE ($1::text IS NULL OR status = $1)
                  AND ($2::text IS NULL OR legal_entity = $2)
                  AND (cardinality($3::text[]) = 0 OR legal_entity = ANY($3::text[]))
                  AND ($4::uuid IS NULL OR engagement_id = $4)
                  AND ($5::date IS NULL OR (list_date, id) < ($5, $6::uuid))
                ORDER BY list_date DESC, id DESC
                LIMIT $7""",
            where.status.value if where.status else None,
            where.legal_entity,
            list(where.legal_entities),
            where.engagement_id,
            after_date,
            after_id,
            limit,
        )
        return await self._assemble(rows)

    async def invoices_of_engagements(
        self, engagement_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Invoice]]:
        rows = await self.conn.fetch(
            "SELECT * FROM invoices WHERE engagement_id = ANY($1::uuid[])"
            " ORDER BY list_date DESC, id DESC",
            list(set(engagement_ids)),
        )
        grouped: dict[uuid.UUID, list[Invoice]] = {}
        for found in await self._assemble(rows):
            grouped.setdefault(found.engagement_id, []).append(found)
        return grouped

    async def unbilled(self, engagement_id: uuid.UUID) -> list[BillableItem]:
        rows = await self.conn.fetch(
            f"""SELECT {ITEM_COLUMNS} FROM billable_items i
                 WHERE i.engagement_id = $1 AND {_UNBILLED}
                 ORDER BY i.service_date, i.kind, i.source_id""",
            engagement_id,
        )
        return [item_from_row(row) for row in rows]

    async def open_balances(self, as_of: dt.date, legal_entity: str | None) -> list[OpenBalance]:
        """What each invoice owed on as_of: issued by then, not yet voided, less the payments
        received by then (so a later report on a past date gives the same answer)."""
        rows = await self.conn.fetch(
            """SELECT v.currency, v.due_date, v.total - v.paid AS balance
                 FROM (SELECT i.currency, i.due_date, i.total,
                              coalesce((SELECT sum(p.amount) FROM payments p
                                         WHERE p.invoice_id = i.id AND p.received_on <= $1),
                                       0) AS paid
                         FROM invoices i
                        WHERE i.number IS NOT NULL AND i.issue_date <= $1
                          AND (i.voided_on IS NULL OR i.voided_on > $1)
                          AND ($2::text IS NULL OR i.legal_entity = $2)) v
                WHERE v.total > v.paid""",
            as_of,
            legal_entity,
        )
        return [OpenBalance(Money(r["balance"], r["currency"]), r["due_date"]) for r in rows]

    async def claim_request(
        self, method: str, key: str, request_hash: bytes
    ) -> tuple[bytes, bytes | None] | None:
        """None: the key is ours to answer (a concurrent twin waits for our commit). Otherwise
        the earlier request's hash and response."""
        claimed = await self.conn.fetchval(
            "INSERT INTO idempotency_keys (method, key, request_hash) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            method,
            key,
            request_hash,
        )
        if claimed:
            return None
        row = await self.conn.fetchrow(
            "SELECT request_hash, response FROM idempotency_keys WHERE method = $1 AND key = $2",
            method,
            key,
        )
        assert row is not None, "a key is never deleted while it can conflict"
        return row["request_hash"], row["response"]

    async def keep_response(self, method: str, key: str, response: bytes) -> None:
        await self.conn.execute(
            "UPDATE idempotency_keys SET response = $3 WHERE method = $1 AND key = $2",
            method,
            key,
            response,
        )
