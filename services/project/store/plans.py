"""The engagement's plan rows: its milestones and who is staffed on it."""

from __future__ import annotations

import uuid

from services.project.domain.model import Assignment, Milestone
from services.project.store.rows import Rows


class PlanRows(Rows):
    async def engagement_of_milestone(self, milestone_id: uuid.UUID) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.conn.fetchval(
            "SELECT engagement_id FROM milestones WHERE id = $1", milestone_id
        )
        return found

    async def save_milestone(self, milestone: Milestone) -> None:
        await self.conn.execute(
            "UPDATE milestones SET status = $2, completed_on = $3 WHERE id = $1",
            milestone.id,
            milestone.status.value,
            milestone.completed_on,
        )

    async def save_assignment(self, engagement_id: uuid.UUID, a: Assignment) -> None:
        await self.conn.execute(
            """INSERT INTO assignments (engagement_id, person_id, role, planned_hours, assigned_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (engagement_id, person_id, role)
               DO UPDATE SET planned_hours = excluded.planned_hours,
                             assigned_at = excluded.assigned_at""",
            engagement_id,
            a.person_id,
            a.role,
            a.planned_hours,
            a.assigned_at,
        )
