"""The engagement as one thread through sales, delivery and finance: the edges between domains.

Each domain's types hold what its service holds (engagements/types.py, billing/types.py,
revenue/types.py, customers/types.py) and import nothing of each other; the types that point
across domains (an engagement's invoices, an invoice's engagement) are completed here, above
them all, so the import graph has no cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Self

import strawberry

from gateway.billing.types import InvoiceFacts
from gateway.context import Info
from gateway.customers.types import Customer
from gateway.engagements.timeline import LifecycleEvent
from gateway.engagements.types import (
    EngagementFacts,
    Expense,
    Setup,
    TimeEntryFacts,
    TimeEntryStatus,
)
from gateway.engagements.versions import EngagementAmendment
from gateway.pagination import Connection, paginate
from gateway.revenue.types import RevenuePosition
from gateway.selection import MISSING, prefetch, ready, requested
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class Invoice(InvoiceFacts):
    @strawberry.field
    async def engagement(self, info: Info) -> Engagement | None:
        found = await info.context.loaders.engagements.load(self.engagement_id)
        return info.context.loaders.converted(found, Engagement.from_proto) if found else None


@strawberry.type
class Engagement(EngagementFacts):
    amendments: list[EngagementAmendment] = strawberry.field(
        default_factory=list,
        description="Every amendment of its terms, oldest first; contractValue, budget, endDate, "
        "rateCard and milestones are those of the latest.",
    )

    @classmethod
    def from_proto(cls, e: pb.Engagement) -> Self:
        found = super().from_proto(e)
        found.amendments = [EngagementAmendment.from_proto(a, e.currency) for a in e.amendments]
        return found

    # customer, invoices, revenue and setup answer synchronously when their loader already
    # holds the answer (a page prefetches them: `prefetch_children`), else they wait for it.
    @strawberry.field(graphql_type=Customer | None)
    def customer(self, info: Info) -> Customer | Awaitable[Customer | None] | None:
        loaders = info.context.loaders
        found = ready(loaders.customers, self.customer_id)
        if found is MISSING:
            return self._customer(info)
        return loaders.converted(found, Customer.from_proto) if found else None

    async def _customer(self, info: Info) -> Customer | None:
        found = await info.context.loaders.customers.load(self.customer_id)
        return info.context.loaders.converted(found, Customer.from_proto) if found else None

    @strawberry.field(
        graphql_type=list[Invoice],
        description="Every invoice billing holds for the engagement, drafts included.",
    )
    def invoices(self, info: Info) -> list[Invoice] | Awaitable[list[Invoice]]:
        held = ready(info.context.loaders.invoices_by_engagement, str(self.id))
        if held is MISSING:
            return self._invoices(info)
        return [Invoice.from_proto(i) for i in held.invoices]

    async def _invoices(self, info: Info) -> list[Invoice]:
        held = await info.context.loaders.invoices_by_engagement.load(str(self.id))
        return [Invoice.from_proto(i) for i in held.invoices]

    @strawberry.field(
        graphql_type=RevenuePosition | None,
        description="Revenue position; null until revenue has set the engagement up.",
    )
    def revenue(self, info: Info) -> RevenuePosition | Awaitable[RevenuePosition | None] | None:
        position = ready(info.context.loaders.positions, str(self.id))
        if position is MISSING:
            return self._revenue(info)
        return RevenuePosition.from_proto(position) if position else None

    async def _revenue(self, info: Info) -> RevenuePosition | None:
        position = await info.context.loaders.positions.load(str(self.id))
        return RevenuePosition.from_proto(position) if position else None

    @strawberry.field(graphql_type=Setup)
    def setup(self, info: Info) -> Setup | Awaitable[Setup]:
        loaders = info.context.loaders
        billing = ready(loaders.invoices_by_engagement, str(self.id))
        position = ready(loaders.positions, str(self.id))
        if billing is MISSING or position is MISSING:
            return self._setup(info)
        return Setup(project=True, billing=billing.set_up, revenue=position is not None)

    async def _setup(self, info: Info) -> Setup:
        billing = await info.context.loaders.invoices_by_engagement.load(str(self.id))
        position = await info.context.loaders.positions.load(str(self.id))
        return Setup(project=True, billing=billing.set_up, revenue=position is not None)

    @strawberry.field(description="Every event any service produced for it, in order: its lineage.")
    async def timeline(self, info: Info) -> list[LifecycleEvent]:
        events = await info.context.loaders.timelines.load(str(self.id))
        return [LifecycleEvent.from_proto(e) for e in events]

    @strawberry.field
    async def time_entries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: TimeEntryStatus | None = None,
    ) -> Connection[TimeEntry]:
        pages = info.context.loaders.time_entry_pages
        wanted = status.value if status else pb.TIME_ENTRY_STATUS_UNSPECIFIED

        async def fetch(size: int, token: str) -> tuple[Sequence[TimeEntry], str]:
            page = await pages.load((str(self.id), wanted, size, token))
            return [TimeEntry.from_proto(t) for t in page.time_entries], page.next_page_token

        return await paginate(fetch, first=first, after=after)

    @strawberry.field
    async def expenses(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Expense]:
        pages = info.context.loaders.expense_pages

        async def fetch(size: int, token: str) -> tuple[Sequence[Expense], str]:
            page = await pages.load((str(self.id), size, token))
            return [Expense.from_proto(e) for e in page.expenses], page.next_page_token

        return await paginate(fetch, first=first, after=after)


@strawberry.type
class TimeEntry(TimeEntryFacts):
    @strawberry.field
    async def engagement(self, info: Info) -> Engagement | None:
        found = await info.context.loaders.engagements.load(str(self.engagement_id))
        return info.context.loaders.converted(found, Engagement.from_proto) if found else None


async def prefetch_children(info: Info, engagements: Sequence[pb.Engagement], *path: str) -> None:
    """Load, one batch per service, the children the operation asks for below `path` (the
    engagements' place in the current field's selection), so their resolvers answer at once."""
    wanted = requested(info, *path)
    loaders = info.context.loaders
    ids = [e.id for e in engagements]
    loads: list[Awaitable[object]] = []
    if "customer" in wanted:
        loads.append(loaders.customers.load_many([e.customer_id for e in engagements]))
    if wanted & {"invoices", "setup"}:
        loads.append(loaders.invoices_by_engagement.load_many(ids))
    if wanted & {"revenue", "setup"}:
        loads.append(loaders.positions.load_many(ids))
    await prefetch(loads)
