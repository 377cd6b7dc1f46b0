"""Customers as the CUSTOMER stream told us about them: merged ids and their survivors."""

from __future__ import annotations

import uuid

from services.project.store.rows import Rows, advisory_key


class CustomerRows(Rows):
    async def hold_customer(self, customer_id: uuid.UUID, *, exclusive: bool) -> None:
        await self.lock_keys([advisory_key("customer", str(customer_id))], shared=not exclusive)

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID:
        survivor: uuid.UUID = await self.conn.fetchval(
            "SELECT coalesce((SELECT survivor_id FROM customer_aliases WHERE merged_id = $1), $1)",
            customer_id,
        )
        return survivor

    async def record_merge(self, merged_id: uuid.UUID, survivor_id: uuid.UUID) -> int:
        """Remembers the alias (one hop, always) and repoints engagements; returns how many."""
        await self.conn.execute(
            "INSERT INTO customer_aliases (merged_id, survivor_id) VALUES ($1, $2)"
            " ON CONFLICT (merged_id) DO NOTHING",
            merged_id,
            survivor_id,
        )
        await self.conn.execute(
            "UPDATE customer_aliases SET survivor_id = $2 WHERE survivor_id = $1",
            merged_id,
            survivor_id,
        )
        status: str = await self.conn.execute(
            "UPDATE engagements SET customer_id = $2, version = version + 1, updated_at = now()"
            " WHERE customer_id = $1",
            merged_id,
            survivor_id,
        )
        return int(status.rsplit(" ", 1)[-1])
