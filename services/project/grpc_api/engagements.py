"""Engagements, milestones, staffing and people over gRPC: request -> use case -> response."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mesh.idempotency import once
from mesh.paging import decode_token, encode_token
from mesh.requests import parse_id, parse_ids
from services.project.convert import requests
from services.project.convert.responses import (
    ENGAGEMENT_STATUSES,
    engagement_to_proto,
    milestone_to_proto,
    person_to_proto,
    utilization_to_proto,
)
from services.project.domain.model import LegalEntities, Opportunity
from services.project.domain.people import check_person
from services.project.domain.templates import apply_template
from services.project.domain.terms import check_opportunity_won
from services.project.handlers import (
    EngagementFilter,
    ProjectRepository,
    Transact,
    engagements,
    people,
    templates,
)
from services.project.handlers.engagements import CustomerResolver
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import project_service_pb2 as pb


class EngagementApi:
    transact: Transact
    read: Transact  # no transaction: at READ COMMITTED it would add nothing
    customers: CustomerResolver
    entities: LegalEntities

    async def CreateEngagementFromOpportunity(
        self, request: pb.CreateEngagementFromOpportunityRequest, context: Any
    ) -> pb.CreateEngagementFromOpportunityResponse:
        draft = requests.opportunity_won(request)
        if code := request.template_code:
            template = await self.read(lambda r: templates.template_for_deal(r, code))
            draft = apply_template(draft, template, self.entities)
        won = check_opportunity_won(draft, self.entities)
        gated = {code for code, e in self.entities.items() if e.approval_required}
        creation = await engagements.create_engagement_from_opportunity(
            self.transact, self.customers, won, approval_required=gated
        )
        return pb.CreateEngagementFromOpportunityResponse(
            engagement=engagement_to_proto(creation.engagement),
            customer_matched_by=customer_pb.MatchRule.Value(
                f"MATCH_RULE_{creation.engagement.customer_matched_by}"
            ),
            created=creation.created,
        )

    async def GetEngagement(
        self, request: pb.GetEngagementRequest, context: Any
    ) -> pb.GetEngagementResponse:
        engagement_id = parse_id(request.id, "id")
        found = await self.read(lambda r: engagements.get_engagement(r, engagement_id))
        return pb.GetEngagementResponse(engagement=engagement_to_proto(found))

    async def BatchGetEngagements(
        self, request: pb.BatchGetEngagementsRequest, context: Any
    ) -> pb.BatchGetEngagementsResponse:
        ids = parse_ids(request.ids, "ids")
        found = await self.read(lambda r: r.engagements(ids))
        return pb.BatchGetEngagementsResponse(
            engagements=[engagement_to_proto(found[i]) for i in ids if i in found],
            missing_ids=[str(i) for i in ids if i not in found],
        )

    async def ListEngagements(
        self, request: pb.ListEngagementsRequest, context: Any
    ) -> pb.ListEngagementsResponse:
        after = decode_token("engagements", request.page_token, (dt.date.fromisoformat, str))
        query = EngagementFilter(
            status=requests.status_filter(request.status, ENGAGEMENT_STATUSES, "status"),
            legal_entity=request.legal_entity or None,
            customer_id=(
                parse_id(request.customer_id, "customer_id") if request.customer_id else None
            ),
            legal_entities=tuple(request.legal_entities),
        )
        rows, cursor = await self.read(
            lambda r: engagements.list_engagements(
                r, query, page_size=request.page_size, after=after
            )
        )
        return pb.ListEngagementsResponse(
            engagements=[engagement_to_proto(e) for e in rows],
            next_page_token=encode_token("engagements", cursor),
        )

    async def GetEngagementByOpportunity(
        self, request: pb.GetEngagementByOpportunityRequest, context: Any
    ) -> pb.GetEngagementByOpportunityResponse:
        opportunity = Opportunity(request.source, request.opportunity_id)
        found = await self.transact(lambda r: engagements.find_by_opportunity(r, opportunity))
        return pb.GetEngagementByOpportunityResponse(engagement=engagement_to_proto(found))

    async def AssignResource(
        self, request: pb.AssignResourceRequest, context: Any
    ) -> pb.AssignResourceResponse:
        engagement_id, person_id, role, planned = requests.assignment(request)
        saved = await self.transact(
            lambda r: engagements.assign_resource(r, engagement_id, person_id, role, planned)
        )
        return pb.AssignResourceResponse(engagement=engagement_to_proto(saved))

    async def CompleteMilestone(
        self, request: pb.CompleteMilestoneRequest, context: Any
    ) -> pb.CompleteMilestoneResponse:
        milestone_id = parse_id(request.id, "id")
        on = requests.required_date(request, "completed_on")

        async def work(r: ProjectRepository) -> pb.CompleteMilestoneResponse:
            done = await engagements.complete_milestone(r, milestone_id, on)
            return pb.CompleteMilestoneResponse(milestone=milestone_to_proto(done))

        return await once(self.transact, request, pb.CompleteMilestoneResponse, work)

    async def GetMilestone(
        self, request: pb.GetMilestoneRequest, context: Any
    ) -> pb.GetMilestoneResponse:
        milestone_id = parse_id(request.id, "id")
        found = await self.transact(lambda r: engagements.get_milestone(r, milestone_id))
        return pb.GetMilestoneResponse(milestone=milestone_to_proto(found))

    async def CompleteEngagement(
        self, request: pb.CompleteEngagementRequest, context: Any
    ) -> pb.CompleteEngagementResponse:
        engagement_id = parse_id(request.id, "id")
        on = requests.required_date(request, "completed_on")

        async def work(r: ProjectRepository) -> pb.CompleteEngagementResponse:
            done = await engagements.complete_engagement(r, engagement_id, on)
            return pb.CompleteEngagementResponse(engagement=engagement_to_proto(done))

        return await once(self.transact, request, pb.CompleteEngagementResponse, work)

    async def UpsertPerson(
        self, request: pb.UpsertPersonRequest, context: Any
    ) -> pb.UpsertPersonResponse:
        p = request.person
        person = check_person(p.id, p.name, p.home_entity, p.weekly_capacity_hours, self.entities)
        saved = await self.transact(lambda r: people.upsert_person(r, person))
        return pb.UpsertPersonResponse(person=person_to_proto(saved))

    async def GetPerson(self, request: pb.GetPersonRequest, context: Any) -> pb.GetPersonResponse:
        found = await self.transact(lambda r: people.get_person(r, request.id))
        return pb.GetPersonResponse(person=person_to_proto(found))

    async def ListPeople(
        self, request: pb.ListPeopleRequest, context: Any
    ) -> pb.ListPeopleResponse:
        after = decode_token("people", request.page_token, (str, str))
        rows, cursor = await self.transact(
            lambda r: people.list_people(
                r,
                request.home_entity,
                page_size=request.page_size,
                after=after,
                entities=self.entities,
            )
        )
        return pb.ListPeopleResponse(
            people=[person_to_proto(p) for p in rows],
            next_page_token=encode_token("people", cursor),
        )

    async def GetUtilization(
        self, request: pb.GetUtilizationRequest, context: Any
    ) -> pb.GetUtilizationResponse:
        start = requests.date_or_none(request, "from_date")
        end = requests.date_or_none(request, "to_date")
        after = decode_token("utilization", request.page_token, (str, str))
        rows, cursor = await self.transact(
            lambda r: people.get_utilization(
                r,
                start,
                end,
                request.legal_entity,
                page_size=request.page_size,
                after=after,
                entities=self.entities,
            )
        )
        return pb.GetUtilizationResponse(
            people=[utilization_to_proto(u) for u in rows],
            next_page_token=encode_token("utilization", cursor),
        )
