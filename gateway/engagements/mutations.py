"""Sales closes, delivery records and approves: the engagement mutations of DESIGN.md §4."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import strawberry

from gateway.common import date_input, money_input
from gateway.context import Info
from gateway.engagements.inputs import ExpenseInput, OpportunityWonInput, TimeEntryInput
from gateway.engagements.types import Engagement, Expense, Milestone, TimeEntry
from gateway.errors import NotFound, call
from gateway.scope import require_on_engagements
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
class Person:
    id: strawberry.ID
    name: str
    home_entity: str
    weekly_capacity_hours: Decimal


@strawberry.input
class PersonInput:
    id: strawberry.ID = strawberry.field(description="The HR system's stable employee id.")
    name: str
    home_entity: str
    weekly_capacity_hours: Decimal | None = None


@strawberry.type
class CloseWonResult:
    engagement: Engagement
    customer_matched_by: CustomerMatch


def _opportunity_request(i: OpportunityWonInput) -> pb.CreateEngagementFromOpportunityRequest:
    c = i.currency
    return pb.CreateEngagementFromOpportunityRequest(
        source=i.source,
        opportunity_id=i.opportunity_id,
        account=pb.OpportunityAccount(
            external_id=i.account.external_id,
            name=i.account.name,
            domain=i.account.domain or "",
            tax_id=i.account.tax_id or "",
            country=i.account.country,
        ),
        name=i.name,
        legal_entity=i.legal_entity,
        currency=c,
        billing_model=(i.billing_model.value if i.billing_model else pb.BILLING_MODEL_UNSPECIFIED),
        contract_value=money_input(i.contract_value, c, "input.currency")
        if i.contract_value is not None
        else None,
        budget_hours=str(i.budget_hours) if i.budget_hours is not None else "",
        start_date=date_input(i.start_date),
        end_date=date_input(i.end_date),
        rate_card=[
            pb.RateCardLine(role=r.role, bill_rate=str(r.bill_rate), cost_rate=str(r.cost_rate))
            for r in i.rate_card
        ],
        milestones=[
            pb.MilestoneInput(
                name=m.name,
                amount=money_input(m.amount, c, "input.currency"),
                due_date=date_input(m.due_date),
            )
            for m in i.milestones
        ],
        payment_terms_days=i.payment_terms_days,
        expense_markup_percent=str(i.expense_markup_percent or ""),
        template_code=i.template_code or "",
    )


async def _entries_engagements(info: Info, operation: str, ids: list[strawberry.ID]) -> None:
    info.context.principal.require(operation)
    entries = await info.context.loaders.time_entries.load_many([str(i) for i in ids])
    missing = [str(i) for i, e in zip(ids, entries, strict=True) if e is None]
    if missing:
        raise NotFound(f"time entry {missing[0]} not found")
    await require_on_engagements(info.context, operation, [e.engagement_id for e in entries if e])


@strawberry.type
class EngagementMutations:
    @strawberry.mutation(description="A won opportunity becomes a customer and an engagement.")
    async def close_won_opportunity(self, info: Info, input: OpportunityWonInput) -> CloseWonResult:
        info.context.principal.require("closeWonOpportunity", input.legal_entity)
        answer = await call(
            "project",
            info.context.clients.project.CreateEngagementFromOpportunity(
                _opportunity_request(input)
            ),
        )
        return CloseWonResult(
            engagement=Engagement.from_proto(answer.engagement),
            customer_matched_by=CustomerMatch(answer.customer_matched_by),
        )

    @strawberry.mutation(description="Register or update a person who records time (delivery).")
    async def upsert_person(self, info: Info, input: PersonInput) -> Person:
        info.context.principal.require("upsertPerson", input.home_entity)
        capacity = "" if input.weekly_capacity_hours is None else str(input.weekly_capacity_hours)
        answer = await call(
            "project",
            info.context.clients.project.UpsertPerson(
                pb.UpsertPersonRequest(
                    person=pb.Person(
                        id=str(input.id),
                        name=input.name,
                        home_entity=input.home_entity,
                        weekly_capacity_hours=capacity,
                    )
                )
            ),
        )
        p = answer.person
        return Person(
            id=strawberry.ID(p.id),
            name=p.name,
            home_entity=p.home_entity,
            weekly_capacity_hours=Decimal(p.weekly_capacity_hours or "40"),
        )

    @strawberry.mutation
    async def submit_time(self, info: Info, entries: list[TimeEntryInput]) -> list[TimeEntry]:
        await require_on_engagements(
            info.context, "submitTime", [str(e.engagement_id) for e in entries]
        )
        answer = await call(
            "project",
            info.context.clients.project.SubmitTime(
                pb.SubmitTimeRequest(
                    entries=[
                        pb.TimeEntryInput(
                            engagement_id=str(e.engagement_id),
                            person_id=e.person_id,
                            role=e.role,
                            date=date_input(e.date),
                            hours=str(e.hours),
                            billable=e.billable,
                            description=e.description,
                            external_id=e.external_id or "",
                        )
                        for e in entries
                    ]
                )
            ),
        )
        return [TimeEntry.from_proto(t) for t in answer.time_entries]

    @strawberry.mutation
    async def approve_time(self, info: Info, ids: list[strawberry.ID]) -> list[TimeEntry]:
        await _entries_engagements(info, "approveTime", ids)
        answer = await call(
            "project",
            info.context.clients.project.ApproveTime(
                pb.ApproveTimeRequest(ids=[str(i) for i in ids])
            ),
        )
        return [TimeEntry.from_proto(t) for t in answer.time_entries]

    @strawberry.mutation
    async def reject_time(
        self, info: Info, ids: list[strawberry.ID], reason: str
    ) -> list[TimeEntry]:
        await _entries_engagements(info, "rejectTime", ids)
        answer = await call(
            "project",
            info.context.clients.project.RejectTime(
                pb.RejectTimeRequest(ids=[str(i) for i in ids], reason=reason)
            ),
        )
        return [TimeEntry.from_proto(t) for t in answer.time_entries]

    @strawberry.mutation
    async def submit_expense(self, info: Info, input: ExpenseInput) -> Expense:
        await require_on_engagements(info.context, "submitExpense", [str(input.engagement_id)])
        engagement = await info.context.loaders.engagements.load(str(input.engagement_id))
        assert engagement is not None  # checked by require_on_engagements
        answer = await call(
            "project",
            info.context.clients.project.SubmitExpense(
                pb.SubmitExpenseRequest(
                    engagement_id=str(input.engagement_id),
                    person_id=input.person_id,
                    date=date_input(input.date),
                    amount=money_input(input.amount, engagement.currency, "input.amount"),
                    category=input.category,
                    billable=input.billable,
                    description=input.description,
                    external_id=input.external_id or "",
                )
            ),
        )
        return Expense.from_proto(answer.expense)

    @strawberry.mutation
    async def approve_expenses(self, info: Info, ids: list[strawberry.ID]) -> list[Expense]:
        info.context.principal.require("approveExpenses")
        found = await call(
            "project",
            info.context.clients.project.BatchGetExpenses(
                pb.BatchGetExpensesRequest(ids=[str(i) for i in ids])
            ),
        )
        if found.missing_ids:
            raise NotFound(f"expense {found.missing_ids[0]} not found")
        await require_on_engagements(
            info.context, "approveExpenses", [e.engagement_id for e in found.expenses]
        )
        answer = await call(
            "project",
            info.context.clients.project.ApproveExpenses(
                pb.ApproveExpensesRequest(ids=[str(i) for i in ids])
            ),
        )
        return [Expense.from_proto(e) for e in answer.expenses]

    @strawberry.mutation
    async def complete_milestone(
        self, info: Info, id: strawberry.ID, completed_on: dt.date
    ) -> Milestone:
        info.context.principal.require("completeMilestone")
        found = await call(
            "project", info.context.clients.project.GetMilestone(pb.GetMilestoneRequest(id=str(id)))
        )
        await require_on_engagements(
            info.context, "completeMilestone", [found.milestone.engagement_id]
        )
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
        await require_on_engagements(info.context, "completeEngagement", [str(id)])
        answer = await call(
            "project",
            info.context.clients.project.CompleteEngagement(
                pb.CompleteEngagementRequest(id=str(id), completed_on=date_input(completed_on))
            ),
        )
        return Engagement.from_proto(answer.engagement)
