"""Invoice rows: invoices with their lines and payments, listed, saved, and aged."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

from mesh.money import Money
from services.billing.domain.aging import OpenBalance
from services.billing.domain.model import BillableItem, Invoice, InvoiceStatus, Payment
from services.billing.handlers import InvoiceFilter
from services.billing.store.bill_to import bill_to_json, bill_to_of
from services.billing.store.replica import ITEM_COLUMNS, item_from_row
from services.billing.store.rows import Rows


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
        purchase_order_number=row["purchase_order_number"],
        bill_to=bill_to_of(row["bill_to"]),
        payments=payments,
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class InvoiceRows(Rows):
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

    async def save(self, invoices: Sequence[Invoice]) -> None:
        await self.conn.executemany(
            """UPDATE invoices
                  SET customer_id = $2, status = $3, number = $4, issue_date = $5,
                      due_date = $6, customer_country = $7, subtotal = $8, tax = $9,
                      tax_rate = $10, tax_note = $11, total = $12, amount_paid = $13,
                      credit_note_number = $14, void_reason = $15, voided_on = $16,
                      version = $17, updated_at = $18, purchase_order_number = $19,
                      bill_to = $20,
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
                    i.purchase_order_number,
                    bill_to_json(i.bill_to),
                )
                for i in invoices
            ],
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
