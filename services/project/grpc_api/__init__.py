"""Thin gRPC servicer: request -> use case (in one transaction) -> response."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from services.project import convert, parse
from services.project.convert import engagement_to_proto, expense_to_proto, time_entry_to_proto
from services.project.domain.model import Opportunity
from services.project.domain.people import check_person
from services.project.domain.terms import check_opportunity_won
from services.project.domain.values import MAX_BATCH
from services.project.handlers import engagements, people, timesheets
from services.project.handlers.engagements import CustomerResolver
from services.project.kept import once
from services.project.repository import EngagementFilter, Transact
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc


class ProjectServicer(pb_grpc.ProjectServiceServicer):
    def __init__(self, transact: Transact, customers: CustomerResolver, read: Transact) -> None:
        self.transact = transact
        self.customers = customers
        self.read = read  # no transaction: at READ COMMITTED it would add nothing

    async def CreateEngagementFromOpportunity(
        self, request: pb.CreateEngagementFromOpportunityRequest, context: Any
    ) -> pb.CreateEngagementFromOpportunityResponse:
        won = check_opportunity_won(parse.opportunity_won(request))
        creation = await engagements.create_engagement_from_opportunity(
            self.transact, self.customers, won
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
        engagement_id = parse.parse_id(request.id, "id")
        found = await self.read(lambda r: engagements.get_engagement(r, engagement_id))
        return pb.GetEngagementResponse(engagement=engagement_to_proto(found))

    async def BatchGetEngagements(
        self, request: pb.BatchGetEngagementsRequest, context: Any
    ) -> pb.BatchGetEngagementsResponse:
        ids = parse.parse_ids(request.ids, "ids")
        found = await self.read(lambda r: r.engagements(ids))
        return pb.BatchGetEngagementsResponse(
            engagements=[engagement_to_proto(found[i]) for i in ids if i in found],
            missing_ids=[str(i) for i in ids if i not in found],
        )

    async def ListEngagements(
        self, request: pb.ListEngagementsRequest, context: Any
    ) -> pb.ListEngagementsResponse:
        after = parse.decode_cursor(request.page_token, (dt.date.fromisoformat, str))
        query = EngagementFilter(
            status=parse.status_filter(request.status, convert.ENGAGEMENT_STATUSES, "status"),
            legal_entity=request.legal_entity or None,
            customer_id=(
                parse.parse_id(request.customer_id, "customer_id") if request.customer_id else None
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
            next_page_token=parse.encode_cursor(cursor),
        )

    async def GetEngagementByOpportunity(
        self, request: pb.GetEngagementByOpportunityRequest, context: Any
    ) -> pb.GetEngagementByOpportunityResponse:
        opportunity = Opportunity(request.source, request.opportunity_id)
        found = await self.transact(lambda r: engagements.find_by_opportunity(r, opportunity))
        return pb.GetEngagementByOpportunityResponse(engagement=engagement_to_proto(found))

    async def UpsertPerson(
        self, request: pb.UpsertPersonRequest, context: Any
    ) -> pb.UpsertPersonResponse:
        p = request.person
        person = check_person(p.id, p.name, p.home_entity, p.weekly_capacity_hours)
        saved = await self.transact(lambda r: people.upsert_person(r, person))
        return pb.UpsertPersonResponse(person=convert.person_to_proto(saved))

    async def GetPerson(self, request: pb.GetPersonRequest, context: Any) -> pb.GetPersonResponse:
        found = await self.transact(lambda r: people.get_person(r, request.id))
        return pb.GetPersonResponse(person=convert.person_to_proto(found))

    async def ListPeople(
        self, request: pb.ListPeopleRequest, context: Any
    ) -> pb.ListPeopleResponse:
        after = parse.decode_cursor(request.page_token, (str, str))
        rows, cursor = await self.transact(
            lambda r: people.list_people(
                r, request.home_entity, page_size=request.page_size, after=after
            )
        )
        return pb.ListPeopleResponse(
            people=[convert.person_to_proto(p) for p in rows],
            next_page_token=parse.encode_cursor(cursor),
        )

    async def AssignResource(
        self, request: pb.AssignResourceRequest, context: Any
    ) -> pb.AssignResourceResponse:
        engagement_id, person_id, role, planned = parse.assignment(request)
        saved = await self.transact(
            lambda r: engagements.assign_resource(r, engagement_id, person_id, role, planned)
        )
        return pb.AssignResourceResponse(engagement=engagement_to_proto(saved))

    async def CompleteMilestone(
        self, request: pb.CompleteMilestoneRequest, context: Any
    ) -> pb.CompleteMilestoneResponse:
        milestone_id = parse.parse_id(request.id, "id")
        on = parse.required_date(request, "completed_on")

        async def work(r: Any) -> pb.CompleteMilestoneResponse:
            done = await engagements.complete_milestone(r, milestone_id, on)
            return pb.CompleteMilestoneResponse(milestone=convert.milestone_to_proto(done))

        return await once(self.transact, request, pb.CompleteMilestoneResponse, work)

    async def GetMilestone(
        self, request: pb.GetMilestoneRequest, context: Any
    ) -> pb.GetMilestoneResponse:
        milestone_id = parse.parse_id(request.id, "id")
        found = await self.transact(lambda r: engagements.get_milestone(r, milestone_id))
        return pb.GetMilestoneResponse(milestone=convert.milestone_to_proto(found))

    async def CompleteEngagement(
        self, request: pb.CompleteEngagementRequest, context: Any
    ) -> pb.CompleteEngagementResponse:
        engagement_id = parse.parse_id(request.id, "id")
        on = parse.required_date(request, "completed_on")

        async def work(r: Any) -> pb.CompleteEngagementResponse:
            done = await engagements.complete_engagement(r, engagement_id, on)
            return pb.CompleteEngagementResponse(engagement=engagement_to_proto(done))

        return await once(self.transact, request, pb.CompleteEngagementResponse, work)

    async def SubmitTime(
        self, request: pb.SubmitTimeRequest, context: Any
    ) -> pb.SubmitTimeResponse:
        drafts = parse.time_entries(request)

        async def work(r: Any) -> pb.SubmitTimeResponse:
            entries = await timesheets.submit_time(r, drafts)
            return pb.SubmitTimeResponse(time_entries=[time_entry_to_proto(e) for e in entries])

        return await once(self.transact, request, pb.SubmitTimeResponse, work)

    async def ApproveTime(
        self, request: pb.ApproveTimeRequest, context: Any
    ) -> pb.ApproveTimeResponse:
        ids = parse.parse_ids(request.ids, "ids", limit=MAX_BATCH)

        async def work(r: Any) -> pb.ApproveTimeResponse:
            entries = await timesheets.approve_time(r, ids)
            return pb.ApproveTimeResponse(time_entries=[time_entry_to_proto(e) for e in entries])

        return await once(self.transact, request, pb.ApproveTimeResponse, work)

    async def RejectTime(
        self, request: pb.RejectTimeRequest, context: Any
    ) -> pb.RejectTimeResponse:
        ids = parse.parse_ids(request.ids, "ids", limit=MAX_BATCH)
        entries = await self.transact(lambda r: timesheets.reject_time(r, ids, request.reason))
        return pb.RejectTimeResponse(time_entries=[time_entry_to_proto(e) for e in entries])

    async def BatchGetTimeEntries(
        self, request: pb.BatchGetTimeEntriesRequest, context: Any
    ) -> pb.BatchGetTimeEntriesResponse:
        ids = parse.parse_ids(request.ids, "ids")
        found = await self.read(lambda r: r.time_entries(ids))
        return pb.BatchGetTimeEntriesResponse(
            time_entries=[time_entry_to_proto(found[i]) for i in ids if i in found],
            missing_ids=[str(i) for i in ids if i not in found],
        )

    async def ListTimeEntries(
        self, request: pb.ListTimeEntriesRequest, context: Any
    ) -> pb.ListTimeEntriesResponse:
        engagement_id = parse.parse_id(request.engagement_id, "engagement_id")
        status = parse.status_filter(request.status, convert.TIME_STATUSES, "status")
        after = parse.decode_cursor(request.page_token, (dt.date.fromisoformat, str, uuid.UUID))
        rows, cursor = await self.transact(
            lambda r: timesheets.list_time_entries(
                r, engagement_id, status, page_size=request.page_size, after=after
            )
        )
        return pb.ListTimeEntriesResponse(
            time_entries=[time_entry_to_proto(e) for e in rows],
            next_page_token=parse.encode_cursor(cursor),
        )

    async def SubmitExpense(
        self, request: pb.SubmitExpenseRequest, context: Any
    ) -> pb.SubmitExpenseResponse:
        draft = parse.expense(request)

        async def work(r: Any) -> pb.SubmitExpenseResponse:
            saved = await timesheets.submit_expense(r, draft)
            return pb.SubmitExpenseResponse(expense=expense_to_proto(saved))

        return await once(self.transact, request, pb.SubmitExpenseResponse, work)

    async def ApproveExpenses(
        self, request: pb.ApproveExpensesRequest, context: Any
    ) -> pb.ApproveExpensesResponse:
        ids = parse.parse_ids(request.ids, "ids", limit=MAX_BATCH)

        async def work(r: Any) -> pb.ApproveExpensesResponse:
            approved = await timesheets.approve_expenses(r, ids)
            return pb.ApproveExpensesResponse(expenses=[expense_to_proto(x) for x in approved])

        return await once(self.transact, request, pb.ApproveExpensesResponse, work)

    async def BatchGetExpenses(
        self, request: pb.BatchGetExpensesRequest, context: Any
    ) -> pb.BatchGetExpensesResponse:
        ids = parse.parse_ids(request.ids, "ids")
        found = await self.read(lambda r: r.expenses(ids))
        return pb.BatchGetExpensesResponse(
            expenses=[expense_to_proto(found[i]) for i in ids if i in found],
            missing_ids=[str(i) for i in ids if i not in found],
        )

    async def ListExpenses(
        self, request: pb.ListExpensesRequest, context: Any
    ) -> pb.ListExpensesResponse:
        engagement_id = parse.parse_id(request.engagement_id, "engagement_id")
        status = parse.status_filter(request.status, convert.EXPENSE_STATUSES, "status")
        after = parse.decode_cursor(request.page_token, (dt.date.fromisoformat, uuid.UUID))
        rows, cursor = await self.transact(
            lambda r: timesheets.list_expenses(
                r, engagement_id, status, page_size=request.page_size, after=after
            )
        )
        return pb.ListExpensesResponse(
            expenses=[expense_to_proto(x) for x in rows],
            next_page_token=parse.encode_cursor(cursor),
        )

    async def GetUtilization(
        self, request: pb.GetUtilizationRequest, context: Any
    ) -> pb.GetUtilizationResponse:
        start = parse.date_or_none(request, "from_date")
        end = parse.date_or_none(request, "to_date")
        after = parse.decode_cursor(request.page_token, (str, str))
        rows, cursor = await self.transact(
            lambda r: people.get_utilization(
                r, start, end, request.legal_entity, page_size=request.page_size, after=after
            )
        )
        return pb.GetUtilizationResponse(
            people=[convert.utilization_to_proto(u) for u in rows],
            next_page_token=parse.encode_cursor(cursor),
        )
