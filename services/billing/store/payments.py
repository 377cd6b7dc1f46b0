"""Payment rows (their invoice's row is what orders concurrent payments)."""

from __future__ import annotations

import uuid

from mesh.money import Money
from services.billing.domain.model import Payment
from services.billing.store.rows import Rows


class PaymentRows(Rows):
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
