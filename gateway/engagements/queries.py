"""engagement, engagementByOpportunity, engagements and utilization, scoped to the caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated

import strawberry

from gateway.common import date_input
from gateway.context import Info
from gateway.engagements.types import EngagementStatus
from gateway.engagements.view import Engagement, prefetch_children
from gateway.errors import NotFound, call
from gateway.pagination import Connection, paginate
from gateway.scope import list_scope
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class PersonUtilization:
    person_id: str
    name: str
    home_entity: str
    capacity_hours: Decimal
    approved_hours: Decimal
    billable_hours: Decimal
    utilization_percent: Decimal


async def _visible(info: Info, engagement: pb.Engagement | None) -> Engagement | None:
    # Outside the caller's entities an engagement does not exist for them (no existence leak).
    if engagement is None or not info.context.principal.sees(engagement.legal_entity):
        return None
    await prefetch_children(info, [engagement])
    return Engagement.from_proto(engagement)


@strawberry.type
class EngagementQueries:
    @strawberry.field
    async def engagement(self, info: Info, id: strawberry.ID) -> Engagement | None:
        return await _visible(info, await info.context.loaders.engagements.load(str(id)))

    @strawberry.field
    async def engagement_by_opportunity(
        self, info: Info, source: str, opportunity_id: str
    ) -> Engagement | None:
        try:
            answer = await call(
                "project",
                info.context.clients.project.GetEngagementByOpportunity(
                    pb.GetEngagementByOpportunityRequest(
                        source=source, opportunity_id=opportunity_id
                    )
                ),
            )
        except NotFound:
            return None
        return await _visible(info, answer.engagement)

    @strawberry.field
    async def engagements(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: EngagementStatus | None = None,
        legal_entity: str | None = None,
        customer_id: strawberry.ID | None = None,
    ) -> Connection[Engagement]:
        entities = list_scope(info.context.principal, legal_entity)
        client = info.context.clients.project

        async def fetch(size: int, token: str) -> tuple[Sequence[Engagement], str]:
            page = await call(
                "project",
                client.ListEngagements(
                    pb.ListEngagementsRequest(
                        page_size=size,
                        page_token=token,
                        status=status.value if status else pb.ENGAGEMENT_STATUS_UNSPECIFIED,
                        legal_entities=entities,
                        customer_id=str(customer_id or ""),
                    )
                ),
            )
            await prefetch_children(info, page.engagements, "edges", "node")
            return [Engagement.from_proto(e) for e in page.engagements], page.next_page_token

        return await paginate(fetch, first=first, after=after)

    @strawberry.field(description="Approved hours over capacity per person, in the date range.")
    async def utilization(
        self,
        info: Info,
        from_: Annotated[dt.date, strawberry.argument(name="from")],
        to: dt.date,
        legal_entity: str | None = None,
    ) -> list[PersonUtilization]:
        entities = list_scope(info.context.principal, legal_entity) or [""]
        people: list[PersonUtilization] = []
        for entity in entities:
            token = ""
            while True:
                page = await call(
                    "project",
                    info.context.clients.project.GetUtilization(
                        pb.GetUtilizationRequest(
                            from_date=date_input(from_),
                            to_date=date_input(to),
                            legal_entity=entity,
                            page_size=100,
                            page_token=token,
                        )
                    ),
                )
                people += [
                    PersonUtilization(
                        person_id=p.person_id,
                        name=p.name,
                        home_entity=p.home_entity,
                        capacity_hours=Decimal(p.capacity_hours or "0"),
                        approved_hours=Decimal(p.approved_hours or "0"),
                        billable_hours=Decimal(p.billable_hours or "0"),
                        utilization_percent=Decimal(p.utilization_percent or "0"),
                    )
                    for p in page.people
                ]
                token = page.next_page_token
                if not token:
                    break
        return people
