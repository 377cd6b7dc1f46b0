"""What revenue learns from the PROJECT and BILLING streams, as validated domain facts.

Each fact names the business keys it covers (a time entry, an expense, an invoice, ...):
a key is applied once per engagement, whatever the order or number of deliveries.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

from mesh.errors import InvalidArgument
from mesh.money import Money


class BillingModel(enum.Enum):
    TIME_AND_MATERIALS = "TIME_AND_MATERIALS"
    FIXED_FEE = "FIXED_FEE"
    MILESTONE = "MILESTONE"


@dataclass(frozen=True)
class Terms:
    """The commercial terms of engagement.activated: what a revenue contract is set up from."""

    engagement_id: uuid.UUID
    code: str
    name: str
    legal_entity: str
    currency: str
    billing_model: BillingModel
    customer_id: str
    customer_name: str
    contract_value: Money
    budget_hours: Decimal
    expense_markup_percent: Decimal
    # When the contract was signed (activation, or the start date if earlier): from then on
    # it is in the portfolio.
    signed_on: dt.date
    terms_version: int = 1  # +1 per engagement.amended (DESIGN.md §9)


@dataclass(frozen=True)
class RatedTime:
    time_entry_id: str
    service_date: dt.date
    hours: Decimal
    bill_rate: Decimal
    cost_rate: Decimal
    billable: bool

    @property
    def key(self) -> str:
        return f"time:{self.time_entry_id}"


@dataclass(frozen=True)
class TimeApproved:
    engagement_id: uuid.UUID
    event_id: uuid.UUID
    entries: tuple[RatedTime, ...]

    @property
    def service_date(self) -> dt.date:
        return max(e.service_date for e in self.entries)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(e.key for e in self.entries)


@dataclass(frozen=True)
class ExpenseApproved:
    engagement_id: uuid.UUID
    event_id: uuid.UUID
    expense_id: str
    service_date: dt.date
    category: str
    amount: Money
    markup_percent: Decimal | None  # None: the engagement's
    billable: bool

    @property
    def keys(self) -> tuple[str, ...]:
        return (f"expense:{self.expense_id}",)


@dataclass(frozen=True)
class MilestoneCompleted:
    engagement_id: uuid.UUID
    event_id: uuid.UUID
    milestone_id: str
    name: str
    amount: Money
    completed_on: dt.date

    @property
    def service_date(self) -> dt.date:
        return self.completed_on

    @property
    def keys(self) -> tuple[str, ...]:
        return (f"milestone:{self.milestone_id}",)


@dataclass(frozen=True)
class EngagementCompleted:
    engagement_id: uuid.UUID
    event_id: uuid.UUID
    completed_on: dt.date

    @property
    def service_date(self) -> dt.date:
        return self.completed_on

    @property
    def keys(self) -> tuple[str, ...]:
        return ("completion",)


@dataclass(frozen=True)
class InvoiceIssued:
    engagement_id: uuid.UUID
    event_id: uuid.UUID
    invoice_id: uuid.UUID
    number: str
    issue_date: dt.date
    subtotal: Money
    tax: Money

    @property
    def service_date(self) -> dt.date:
        return self.issue_date

    @property
    def keys(self) -> tuple[str, ...]:
        return (f"invoice:{self.invoice_id}",)


@dataclass(frozen=True)
class InvoiceVoided:
    engagement_id: uuid.UUID
    event_id: uuid.UUID
    invoice_id: uuid.UUID
    number: str
    credit_note_number: str
    voided_on: dt.date
    subtotal: Money
    tax: Money

    @property
    def service_date(self) -> dt.date:
        return self.voided_on

    @property
    def keys(self) -> tuple[str, ...]:
        return (f"void:{self.invoice_id}",)


@dataclass(frozen=True)
class PaymentRecorded:
    engagement_id: uuid.UUID
    event_id: uuid.UUID
    payment_id: str
    invoice_id: uuid.UUID
    received_on: dt.date
    amount: Money
    reference: str

    @property
    def service_date(self) -> dt.date:
        return self.received_on

    @property
    def keys(self) -> tuple[str, ...]:
        return (f"payment:{self.payment_id}",)


@dataclass(frozen=True)
class TermsAmended:
    """engagement.amended: the contract value and budget now in force. Not a posting: FIXED_FEE
    moves to them by cumulative catch-up on its next posting (ASC 606 contract modification)."""

    engagement_id: uuid.UUID
    terms_version: int
    effective_date: dt.date
    contract_value: Money
    budget_hours: Decimal

    def apply_to(self, terms: Terms) -> Terms | None:
        """The amended terms; None when `terms` are this version or newer (a redelivery, or
        an activation that already carried it)."""
        if self.terms_version <= terms.terms_version:
            return None
        if self.contract_value.currency != terms.currency:
            raise InvalidArgument.one(
                "engagement.contract_value.currency_code",
                f"{self.contract_value.currency} on a {terms.currency} engagement",
            )
        return replace(
            terms,
            contract_value=self.contract_value,
            budget_hours=self.budget_hours,
            terms_version=self.terms_version,
        )


Fact = (
    TimeApproved
    | ExpenseApproved
    | MilestoneCompleted
    | EngagementCompleted
    | InvoiceIssued
    | InvoiceVoided
    | PaymentRecorded
)
