"""Engagements waiting for commercial approval: the customer their activation will carry."""

from __future__ import annotations

import dataclasses
import uuid

from services.project.domain.model import BillingContact, CustomerSnapshot, PostalAddress
from services.project.store.rows import Rows


class ApprovalRows(Rows):
    async def hold_activation(self, engagement_id: uuid.UUID, customer: CustomerSnapshot) -> None:
        await self.conn.execute(
            """INSERT INTO pending_activations
                   (engagement_id, customer_name, country, tax_id, matched_by, contact, address)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            engagement_id,
            customer.name,
            customer.country,
            customer.tax_id,
            customer.matched_by,
            dataclasses.asdict(customer.contact) if customer.contact else None,
            dataclasses.asdict(customer.address) if customer.address else None,
        )

    async def release_activation(
        self, engagement_id: uuid.UUID, customer_id: uuid.UUID
    ) -> CustomerSnapshot | None:
        """The held customer (as the engagement's current customer id), removed; None if none."""
        row = await self.conn.fetchrow(
            """DELETE FROM pending_activations WHERE engagement_id = $1
               RETURNING customer_name, country, tax_id, matched_by, contact, address""",
            engagement_id,
        )
        if row is None:
            return None
        contact, address = row["contact"], row["address"]
        return CustomerSnapshot(
            customer_id,
            row["customer_name"],
            row["country"],
            row["tax_id"],
            row["matched_by"],
            BillingContact(**contact) if contact else None,
            PostalAddress(**{**address, "lines": tuple(address["lines"])}) if address else None,
        )
