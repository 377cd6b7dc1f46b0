"""What project holds of an engagement: its terms, milestones, time entries and expenses."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Self

import strawberry

from gateway.common import Money, date, decimal, money, money_required
from gateway.context import Info
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.enum
class EngagementStatus(enum.Enum):
    ACTIVE = pb.ENGAGEMENT_STATUS_ACTIVE
    COMPLETED = pb.ENGAGEMENT_STATUS_COMPLETED
    PENDING_APPROVAL = pb.ENGAGEMENT_STATUS_PENDING_APPROVAL


@strawberry.enum
class BillingModel(enum.Enum):
    TIME_AND_MATERIALS = pb.BILLING_MODEL_TIME_AND_MATERIALS
    FIXED_FEE = pb.BILLING_MODEL_FIXED_FEE
    MILESTONE = pb.BILLING_MODEL_MILESTONE


@strawberry.enum
class MilestoneStatus(enum.Enum):
    PLANNED = pb.MILESTONE_STATUS_PLANNED
    COMPLETED = pb.MILESTONE_STATUS_COMPLETED


@strawberry.enum
class TimeEntryStatus(enum.Enum):
    SUBMITTED = pb.TIME_ENTRY_STATUS_SUBMITTED
    APPROVED = pb.TIME_ENTRY_STATUS_APPROVED
    REJECTED = pb.TIME_ENTRY_STATUS_REJECTED


@strawberry.enum
class ExpenseStatus(enum.Enum):
    SUBMITTED = pb.EXPENSE_STATUS_SUBMITTED
    APPROVED = pb.EXPENSE_STATUS_APPROVED
    REJECTED = pb.EXPENSE_STATUS_REJECTED


@strawberry.type
class Opportunity:
    system: str
    external_id: str


@strawberry.type
class Budget:
    hours: Decimal | None
    approved_hours: Decimal
    burn_percent: Decimal | None = strawberry.field(description="approved / budget hours, in %")


@strawberry.type
class RateCardLine:
    role: str
    bill_rate: Decimal
    _cost_rate: strawberry.Private[Decimal]

    @strawberry.field(description="Needs the finance, executive or admin role; null otherwise.")
    def cost_rate(self, info: Info) -> Decimal | None:
        return self._cost_rate if info.context.principal.sees_costs else None


@strawberry.type
class Milestone:
    id: strawberry.ID
    name: str
    amount: Money
    due_date: dt.date | None
    status: MilestoneStatus
    completed_on: dt.date | None

    @classmethod
    def from_proto(cls, m: pb.Milestone, currency: str) -> Milestone:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            amount=money_required(m.amount, currency),
            due_date=date(m.due_date),
            status=MilestoneStatus(m.status),
            completed_on=date(m.completed_on),
        )


@strawberry.type(description="Which services have set the engagement up (from its activation).")
class Setup:
    project: bool
    billing: bool
    revenue: bool


@strawberry.type
class TimeEntryFacts:
    """A time entry as project records it; gateway/engagements/view.py adds its engagement."""

    id: strawberry.ID
    engagement_id: strawberry.ID
    person_id: str
    role: str
    date: dt.date
    hours: Decimal
    billable: bool
    status: TimeEntryStatus
    description: str
    bill_rate: Decimal | None
    bill_amount: Money | None
    rejection_reason: str | None
    external_id: str | None
    _cost_rate: strawberry.Private[Decimal | None]
    _cost_amount: strawberry.Private[Money | None]
    corrects_time_entry_id: strawberry.ID | None = None  # adjustTime's reversal, replacement
    correction_reason: str | None = None

    @strawberry.field
    def cost_rate(self, info: Info) -> Decimal | None:
        return self._cost_rate if info.context.principal.sees_costs else None

    @strawberry.field
    def cost_amount(self, info: Info) -> Money | None:
        return self._cost_amount if info.context.principal.sees_costs else None

    @classmethod
    def from_proto(cls, t: pb.TimeEntry) -> Self:
        entry_date = date(t.date)
        assert entry_date is not None
        return cls(
            id=strawberry.ID(t.id),
            engagement_id=strawberry.ID(t.engagement_id),
            person_id=t.person_id,
            role=t.role,
            date=entry_date,
            hours=Decimal(t.hours),
            billable=t.billable,
            status=TimeEntryStatus(t.status),
            description=t.description,
            bill_rate=decimal(t.bill_rate),
            bill_amount=money(t.bill_amount),
            rejection_reason=t.rejection_reason or None,
            external_id=t.external_id or None,
            _cost_rate=decimal(t.cost_rate),
            _cost_amount=money(t.cost_amount),
            corrects_time_entry_id=strawberry.ID(t.corrects_time_entry_id)
            if t.corrects_time_entry_id
            else None,
            correction_reason=t.correction_reason or None,
        )


@strawberry.type
class Expense:
    id: strawberry.ID
    status: ExpenseStatus
    amount: Money
    billable_amount: Money | None
    category: str
    billable: bool
    date: dt.date
    person_id: str
    description: str
    external_id: str | None
    rejection_reason: str | None = None

    @classmethod
    def from_proto(cls, e: pb.Expense) -> Expense:
        spent_on = date(e.date)
        amount = money(e.amount)
        assert spent_on is not None and amount is not None
        return cls(
            id=strawberry.ID(e.id),
            status=ExpenseStatus(e.status),
            amount=amount,
            billable_amount=money(e.billable_amount),
            category=e.category,
            billable=e.billable,
            date=spent_on,
            person_id=e.person_id,
            description=e.description,
            external_id=e.external_id or None,
            rejection_reason=e.rejection_reason or None,
        )


@strawberry.type
class EngagementFacts:
    """An engagement as project holds it; gateway/engagements/view.py adds the other domains."""

    id: strawberry.ID
    code: str
    name: str
    status: EngagementStatus
    legal_entity: str
    currency: str
    billing_model: BillingModel
    opportunity: Opportunity
    contract_value: Money | None
    start_date: dt.date | None
    end_date: dt.date | None
    budget: Budget
    rate_card: list[RateCardLine]
    milestones: list[Milestone]
    payment_terms_days: int
    expense_markup_percent: Decimal
    version: int
    purchase_order_number: str | None = strawberry.field(
        description="The customer's PO, printed on invoices issued from now on."
    )
    customer_id: strawberry.Private[str]

    @classmethod
    def from_proto(cls, e: pb.Engagement) -> Self:
        budget = decimal(e.budget_hours)
        approved = decimal(e.approved_hours) or Decimal(0)
        burn = (approved * 100 / budget).quantize(Decimal("0.1")) if budget else None
        return cls(
            id=strawberry.ID(e.id),
            code=e.code,
            name=e.name,
            status=EngagementStatus(e.status),
            legal_entity=e.legal_entity,
            currency=e.currency,
            billing_model=BillingModel(e.billing_model),
            opportunity=Opportunity(
                system=e.opportunity.system, external_id=e.opportunity.external_id
            ),
            contract_value=money(e.contract_value),
            start_date=date(e.start_date),
            end_date=date(e.end_date),
            budget=Budget(hours=budget, approved_hours=approved, burn_percent=burn),
            rate_card=[
                RateCardLine(
                    role=r.role, bill_rate=Decimal(r.bill_rate), _cost_rate=Decimal(r.cost_rate)
                )
                for r in e.rate_card
            ],
            milestones=[Milestone.from_proto(m, e.currency) for m in e.milestones],
            payment_terms_days=e.payment_terms_days,
            expense_markup_percent=decimal(e.expense_markup_percent) or Decimal(0),
            version=e.version,
            purchase_order_number=e.purchase_order_number or None,
            customer_id=e.customer_id,
        )
