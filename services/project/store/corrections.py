"""Corrections of approved time: reversal and replacement rows, and which entry they correct."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.project.domain.time import TimeEntry
from services.project.store.rows import Rows


class CorrectionRows(Rows):
    async def replacement_of(self, entry_id: uuid.UUID) -> uuid.UUID | None:
        """The replacement of an entry already corrected; None when it was not."""
        found: uuid.UUID | None = await self.conn.fetchval(
            """SELECT id FROM time_entries WHERE corrects = $1 AND hours > 0
                ORDER BY submitted_at LIMIT 1""",
            entry_id,
        )
        return found

    async def add_corrections(self, entries: Sequence[TimeEntry]) -> None:
        """Approved, rated reversal and replacement rows (the unique reversal index refuses a
        second correction of one entry that raced this one)."""
        await self.conn.executemany(
            """INSERT INTO time_entries
                   (id, engagement_id, person_id, role, service_date, hours, billable,
                    description, status, bill_rate, cost_rate, bill_amount, cost_amount,
                    submitted_at, decided_at, corrects, correction_reason)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'APPROVED', $9, $10, $11, $12, $13,
                       $14, $15, $16)""",
            [
                (
                    e.id,
                    e.engagement_id,
                    e.person_id,
                    e.role,
                    e.date,
                    e.hours,
                    e.billable,
                    e.description,
                    e.rating.bill_rate,
                    e.rating.cost_rate,
                    e.rating.bill_amount.amount,
                    e.rating.cost_amount.amount,
                    e.submitted_at,
                    e.decided_at,
                    e.corrects,
                    e.correction_reason,
                )
                for e in entries
                if e.rating is not None
            ],
        )
