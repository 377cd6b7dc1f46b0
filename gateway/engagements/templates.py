"""Engagement templates (DESIGN.md §9): every signed-in role reads them (cost rates need
finance, executive or admin); only admins change them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from gateway.context import Info
from gateway.engagements.inputs import RateCardLineInput
from gateway.engagements.types import BillingModel, RateCardLine
from gateway.errors import call
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class MilestoneShare:
    name: str
    percent: Decimal = strawberry.field(description="Of the contract value; a plan sums to 100.")
    due_days_after_start: int


@strawberry.type
class EngagementTemplate:
    code: str
    name: str
    billing_model: BillingModel
    rate_card: list[RateCardLine]
    milestone_plan: list[MilestoneShare]
    payment_terms_days: int
    expense_markup_percent: Decimal
    updated_at: dt.datetime

    @classmethod
    def from_proto(cls, t: pb.EngagementTemplate) -> EngagementTemplate:
        return cls(
            code=t.code,
            name=t.name,
            billing_model=BillingModel(t.billing_model),
            rate_card=[
                RateCardLine(
                    role=x.role, bill_rate=Decimal(x.bill_rate), _cost_rate=Decimal(x.cost_rate)
                )
                for x in t.rate_card
            ],
            milestone_plan=[
                MilestoneShare(
                    name=m.name,
                    percent=Decimal(m.percent),
                    due_days_after_start=m.due_days_after_start,
                )
                for m in t.milestone_plan
            ],
            payment_terms_days=t.payment_terms_days,
            expense_markup_percent=Decimal(t.expense_markup_percent or "0"),
            updated_at=t.update_time.ToDatetime(dt.UTC),
        )


@strawberry.input
class MilestoneShareInput:
    name: str
    percent: Decimal
    due_days_after_start: int = 0


@strawberry.input
class EngagementTemplateInput:
    code: str
    name: str
    billing_model: BillingModel
    rate_card: list[RateCardLineInput]
    milestone_plan: list[MilestoneShareInput] = strawberry.field(default_factory=list)
    payment_terms_days: int = 30
    expense_markup_percent: Decimal | None = None


@strawberry.type
class TemplateQueries:
    @strawberry.field(description="Every engagement template, by code.")
    async def engagement_templates(self, info: Info) -> list[EngagementTemplate]:
        info.context.principal  # noqa: B018 - signed in, whatever the role
        answer = await call(
            "project",
            info.context.clients.project.ListEngagementTemplates(
                pb.ListEngagementTemplatesRequest()
            ),
        )
        return [EngagementTemplate.from_proto(t) for t in answer.templates]


@strawberry.type
class TemplateMutations:
    @strawberry.mutation(description="Create or replace a template by code (admin).")
    async def upsert_engagement_template(
        self, info: Info, input: EngagementTemplateInput
    ) -> EngagementTemplate:
        info.context.principal.require("upsertEngagementTemplate")
        template = pb.EngagementTemplate(
            code=input.code,
            name=input.name,
            billing_model=input.billing_model.value,
            rate_card=[
                pb.RateCardLine(role=r.role, bill_rate=str(r.bill_rate), cost_rate=str(r.cost_rate))
                for r in input.rate_card
            ],
            milestone_plan=[
                pb.MilestoneShare(
                    name=m.name, percent=str(m.percent), due_days_after_start=m.due_days_after_start
                )
                for m in input.milestone_plan
            ],
            payment_terms_days=input.payment_terms_days,
            expense_markup_percent=str(input.expense_markup_percent or ""),
        )
        answer = await call(
            "project",
            info.context.clients.project.UpsertEngagementTemplate(
                pb.UpsertEngagementTemplateRequest(template=template)
            ),
        )
        return EngagementTemplate.from_proto(answer.template)
