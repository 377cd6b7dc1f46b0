"""Billing runs: the unbilled items of engagements put on their drafts, released by voids,
and the gapless numbers issuing and voiding take."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from services.billing.domain.model import BillableItem
from services.billing.handlers import NumberKind
from services.billing.store.replica import ITEM_COLUMNS, item_from_row
from services.billing.store.rows import Rows

UNBILLED = "NOT EXISTS (SELECT 1 FROM invoice_items x WHERE x.item_id = i.id AND x.live)"


class BillingRunRows(Rows):
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
                                  AND {UNBILLED})
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
                                  AND {UNBILLED})""",
            engagement_ids,
            [row["engagement_id"] for row in existing],
            cutoff,
        )
        attached = await self.conn.fetch(
            f"""INSERT INTO invoice_items (invoice_id, item_id)
                SELECT d.id, i.id
                  FROM billable_items i
                  JOIN invoices d ON d.engagement_id = i.engagement_id AND d.status = 'DRAFT'
                 WHERE i.engagement_id = ANY($1::uuid[]) AND i.service_date <= $2 AND {UNBILLED}
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

    async def unbilled(self, engagement_id: uuid.UUID) -> list[BillableItem]:
        rows = await self.conn.fetch(
            f"""SELECT {ITEM_COLUMNS} FROM billable_items i
                 WHERE i.engagement_id = $1 AND {UNBILLED}
                 ORDER BY i.service_date, i.kind, i.source_id""",
            engagement_id,
        )
        return [item_from_row(row) for row in rows]

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
