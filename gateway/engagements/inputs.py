"""GraphQL inputs of the engagement mutations (DESIGN.md §4 names)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from gateway.engagements.types import BillingModel


@strawberry.input
class AccountInput:
    external_id: str
    name: str
    domain: str | None = None
    tax_id: str | None = None
    country: str


@strawberry.input
class RateCardLineInput:
    role: str
    bill_rate: Decimal
    cost_rate: Decimal


@strawberry.input
class MilestoneInput:
    name: str
    amount: Decimal
    due_date: dt.date | None = None


@strawberry.input
class OpportunityWonInput:
    source: str
    opportunity_id: str
    account: AccountInput
    name: str
    legal_entity: str
    currency: str
    billing_model: BillingModel | None = strawberry.field(
        default=None, description="Required unless templateCode's template gives it."
    )
    contract_value: Decimal | None = None
    budget_hours: Decimal | None = None
    start_date: dt.date
    end_date: dt.date
    rate_card: list[RateCardLineInput] = strawberry.field(default_factory=list)
    milestones: list[MilestoneInput] = strawberry.field(default_factory=list)
    payment_terms_days: int | None = None
    expense_markup_percent: Decimal | None = None
    template_code: str | None = strawberry.field(
        default=None, description="An engagement template filling what this input leaves out."
    )


@strawberry.input
class TimeEntryInput:
    engagement_id: strawberry.ID
    person_id: str
    role: str
    date: dt.date
    hours: Decimal
    billable: bool = True
    description: str = ""
    external_id: str | None = None


@strawberry.input
class ExpenseInput:
    engagement_id: strawberry.ID
    person_id: str
    date: dt.date
    amount: Decimal
    category: str
    billable: bool = True
    description: str = ""
    external_id: str | None = None
