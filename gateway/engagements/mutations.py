"""Sales closes, delivery completes: the engagement mutations of DESIGN.md §4."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry
from strawberry.tools import merge_types

from gateway.common import date_input
from gateway.context import Info
from gateway.engagements.delivery import DeliveryMutations
from gateway.engagements.inputs import OpportunityWonInput, opportunity_request
from gateway.engagements.types import Milestone
from gateway.engagements.view import Engagement
from gateway.errors import NotFound, call
from gateway.scope import engagements_in_scope, require_visible
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.enum
class CustomerMatch(enum.Enum):
    EXTERNAL_REF = customer_pb.MATCH_RULE_EXTERNAL_REF
    TAX_ID = customer_pb.MATCH_RULE_TAX_ID
    DOMAIN = customer_pb.MATCH_RULE_DOMAIN
    NAME = customer_pb.MATCH_RULE_NAME
    CREATED = customer_pb.MATCH_RULE_CREATED


@strawberry.type
class CloseWonResult:
    engagement: Engagement
    customer_matched_by: CustomerMatch


@strawberry.type
class LifecycleMutations:
    @strawberry.mutation(description="A won opportunity becomes a customer and an engagement.")
    async def close_won_opportunity(self, info: Info, input: OpportunityWonInput) -> CloseWonResult:
        info.context.principal.require("closeWonOpportunity", input.legal_entity)
        request = opportunity_request(input)
        answer = await call(
            "project", info.context.clients.project.CreateEngagementFromOpportunity(request)
        )
        return CloseWonResult(
            engagement=Engagement.from_proto(answer.engagement),
            customer_matched_by=CustomerMatch(answer.customer_matched_by),
        )

    @strawberry.mutation
    async def complete_milestone(
        self, info: Info, id: strawberry.ID, completed_on: dt.date
    ) -> Milestone:
        info.context.principal.require("completeMilestone")
        try:
            found = await call(
                "project",
                info.context.clients.project.GetMilestone(pb.GetMilestoneRequest(id=str(id))),
            )
            owners = {str(id): found.milestone.engagement_id}
        except NotFound:
            owners = {}
        await require_visible(info.context, "milestone", owners, [id])
        answer = await call(
            "project",
            info.context.clients.project.CompleteMilestone(
                pb.CompleteMilestoneRequest(id=str(id), completed_on=date_input(completed_on))
            ),
        )
        return Milestone.from_proto(answer.milestone, answer.milestone.amount.currency_code)

    @strawberry.mutation
    async def complete_engagement(
        self, info: Info, id: strawberry.ID, completed_on: dt.date
    ) -> Engagement:
        await engagements_in_scope(info.context, "completeEngagement", [str(id)])
        answer = await call(
            "project",
            info.context.clients.project.CompleteEngagement(
                pb.CompleteEngagementRequest(id=str(id), completed_on=date_input(completed_on))
            ),
        )
        return Engagement.from_proto(answer.engagement)


EngagementMutations = merge_types("EngagementMutations", (LifecycleMutations, DeliveryMutations))
