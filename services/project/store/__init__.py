"""All SQL of the project service (asyncpg), behind the ProjectRepository protocol."""

from __future__ import annotations

from collections.abc import Sequence

from mesh.events.outbox import add_events
from mesh.idempotency import KeptResponseRows
from services.project.convert.events import to_outgoing
from services.project.domain.events import ProjectEvent
from services.project.store.amendments import AmendmentRows
from services.project.store.approvals import ApprovalRows
from services.project.store.corrections import CorrectionRows
from services.project.store.customers import CustomerRows
from services.project.store.engagements import EngagementRows
from services.project.store.expenses import ExpenseRows
from services.project.store.people import PeopleRows
from services.project.store.plans import PlanRows
from services.project.store.templates import TemplateRows
from services.project.store.time import TimeRows


class ProjectStore(
    EngagementRows,
    PlanRows,
    ApprovalRows,
    TemplateRows,
    CustomerRows,
    TimeRows,
    CorrectionRows,
    AmendmentRows,
    ExpenseRows,
    PeopleRows,
    KeptResponseRows,
):
    """A repository bound to one connection inside the caller's transaction."""

    async def emit(self, events: Sequence[ProjectEvent]) -> None:
        await add_events(self.conn, source="project", events=[to_outgoing(e) for e in events])
