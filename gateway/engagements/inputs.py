"""GraphQL inputs of the engagement mutations (DESIGN.md §4 names), and the requests they make.

Every number is bounded here, naming its field, before anything converts it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from google.type import money_pb2

from gateway.common import date_input
from gateway.customers.types import (
    BillingContactInput,
    PostalAddressInput,
    address_request,
    contact_request,
)
from gateway.engagements.types import BillingModel
from gateway.numbers import money_input, optional_quantity, quantity
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.input
class AccountInput:
    external_id: str
    name: str
    domain: str | None = None
    tax_id: str | None = None
    country: str
    billing_contact: BillingContactInput | None = strawberry.field(
        default=None, description="Becomes the customer's (who receives the invoices)."
    )
    billing_address: PostalAddressInput | None = strawberry.field(
        default=None, description="Becomes the customer's billing address."
    )


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
    purchase_order_number: str | None = strawberry.field(
        default=None, description="The customer's PO, printed on invoices; at most 64 characters."
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


@strawberry.input
class PersonInput:
    id: strawberry.ID = strawberry.field(description="The HR system's stable employee id.")
    name: str
    home_entity: str
    weekly_capacity_hours: Decimal | None = None


def opportunity_request(i: OpportunityWonInput) -> pb.CreateEngagementFromOpportunityRequest:
    c = i.currency

    def amount(value: Decimal, field: str) -> money_pb2.Money:
        return money_input(value, c, f"input.{field}", currency_field="input.currency")

    return pb.CreateEngagementFromOpportunityRequest(
        source=i.source,
        opportunity_id=i.opportunity_id,
        account=pb.OpportunityAccount(
            external_id=i.account.external_id,
            name=i.account.name,
            domain=i.account.domain or "",
            tax_id=i.account.tax_id or "",
            country=i.account.country,
            billing_contact=contact_request(i.account.billing_contact),
            billing_address=address_request(i.account.billing_address),
        ),
        name=i.name,
        legal_entity=i.legal_entity,
        currency=c,
        billing_model=(i.billing_model.value if i.billing_model else pb.BILLING_MODEL_UNSPECIFIED),
        contract_value=amount(i.contract_value, "contractValue")
        if i.contract_value is not None
        else None,
        budget_hours=optional_quantity(i.budget_hours, "input.budgetHours"),
        start_date=date_input(i.start_date),
        end_date=date_input(i.end_date),
        rate_card=[
            pb.RateCardLine(
                role=r.role,
                bill_rate=quantity(r.bill_rate, f"input.rateCard[{n}].billRate"),
                cost_rate=quantity(r.cost_rate, f"input.rateCard[{n}].costRate"),
            )
            for n, r in enumerate(i.rate_card)
        ],
        milestones=[
            pb.MilestoneInput(
                name=m.name,
                amount=amount(m.amount, f"milestones[{n}].amount"),
                due_date=date_input(m.due_date),
            )
            for n, m in enumerate(i.milestones)
        ],
        payment_terms_days=i.payment_terms_days,
        template_code=i.template_code or "",
        purchase_order_number=i.purchase_order_number or "",
        expense_markup_percent=optional_quantity(
            i.expense_markup_percent, "input.expenseMarkupPercent"
        ),
    )


def time_entry_request(e: TimeEntryInput, n: int) -> pb.TimeEntryInput:
    return pb.TimeEntryInput(
        engagement_id=str(e.engagement_id),
        person_id=e.person_id,
        role=e.role,
        date=date_input(e.date),
        hours=quantity(e.hours, f"entries[{n}].hours"),
        billable=e.billable,
        description=e.description,
        external_id=e.external_id or "",
    )
