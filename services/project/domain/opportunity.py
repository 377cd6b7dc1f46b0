"""The won opportunity as it arrives (a draft: values as sent) and as a validated command."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from mesh.money import Money
from services.project.domain.model import (
    BillingContact,
    BillingModel,
    Opportunity,
    PostalAddress,
    RateCardLine,
)


@dataclass(frozen=True)
class Account:
    """The CRM account; the customer service validates and normalizes the rest (the billing
    contact and address included: they are the customer's)."""

    external_id: str
    name: str
    domain: str
    tax_id: str
    country: str
    billing_contact: BillingContact | None = None
    billing_address: PostalAddress | None = None


@dataclass(frozen=True)
class MilestoneDraft:
    name: str
    amount: Money | None  # None: missing from the request
    due_date: dt.date | None


@dataclass(frozen=True)
class RateCardDraft:
    role: str
    bill_rate: str
    cost_rate: str


@dataclass(frozen=True)
class OpportunityWonDraft:
    """The request's values as they came; dates None when missing or impossible (reported)."""

    source: str
    opportunity_id: str
    account: Account
    name: str
    legal_entity: str
    currency: str
    billing_model: BillingModel | None
    contract_value: Money | None
    budget_hours: str
    start_date: dt.date | None
    end_date: dt.date | None
    rate_card: list[RateCardDraft]
    milestones: list[MilestoneDraft]
    payment_terms_days: int | None
    expense_markup_percent: str
    purchase_order_number: str = ""


@dataclass(frozen=True)
class OpportunityWon:
    opportunity: Opportunity
    account: Account
    name: str
    legal_entity: str
    currency: str
    billing_model: BillingModel
    contract_value: Money
    budget_hours: Decimal
    start_date: dt.date
    end_date: dt.date
    rate_card: list[RateCardLine]
    milestones: list[tuple[str, Money, dt.date]]
    payment_terms_days: int
    expense_markup_percent: Decimal
    purchase_order_number: str = ""  # not a term: amended by set_purchase_order_number
