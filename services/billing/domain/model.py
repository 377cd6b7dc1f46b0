"""What billing knows: engagements' billing profiles, customers, billable items, invoices."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.money import Money


class BillingModel(enum.Enum):
    TIME_AND_MATERIALS = "TIME_AND_MATERIALS"
    FIXED_FEE = "FIXED_FEE"
    MILESTONE = "MILESTONE"


class ItemKind(enum.Enum):
    TIME = "TIME"
    EXPENSE = "EXPENSE"
    MILESTONE = "MILESTONE"


class InvoiceStatus(enum.Enum):
    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    VOID = "VOID"


# Receivables: issued and not yet paid in full.
OPEN = frozenset({InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID})


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ScheduledMilestone:
    id: str
    name: str
    amount: Money
    due_date: dt.date | None


@dataclass(frozen=True)
class BillingProfile:
    """The commercial terms billing needs, as engagement.activated carried them."""

    engagement_id: uuid.UUID
    code: str
    name: str
    legal_entity: str
    currency: str
    billing_model: BillingModel
    customer_id: uuid.UUID
    payment_terms_days: int
    expense_markup_percent: Decimal
    milestones: tuple[ScheduledMilestone, ...]
    version: int
    purchase_order_number: str = ""  # the customer's PO, as the project service last said


@dataclass(frozen=True)
class BillingContact:
    name: str
    email: str


@dataclass(frozen=True)
class PostalAddress:
    lines: tuple[str, ...]
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class BillTo:
    """The facts of a customer an invoice depends on (VAT follows the country) and prints."""

    customer_id: uuid.UUID
    name: str
    country: str
    tax_id: str | None
    version: int = 0
    contact: BillingContact | None = None
    address: PostalAddress | None = None


@dataclass(frozen=True)
class BillableItem:
    """One approved time entry, expense or completed milestone, priced once."""

    kind: ItemKind
    source_id: str
    engagement_id: uuid.UUID
    service_date: dt.date
    description: str
    quantity: Decimal  # hours for TIME, 1 otherwise
    unit_price: Money  # the bill rate is kept unrounded; amounts are rounded
    amount: Money


@dataclass(frozen=True)
class Payment:
    id: uuid.UUID
    invoice_id: uuid.UUID
    amount: Money
    received_on: dt.date
    reference: str
    recorded_at: dt.datetime = field(default_factory=now)


@dataclass
class Invoice:
    id: uuid.UUID
    engagement_id: uuid.UUID
    customer_id: uuid.UUID
    legal_entity: str
    currency: str
    status: InvoiceStatus
    lines: list[BillableItem]
    subtotal: Money
    tax: Money
    tax_rate: Decimal
    tax_note: str
    total: Money
    amount_paid: Money
    number: str | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    customer_country: str | None = None
    credit_note_number: str | None = None
    void_reason: str | None = None
    voided_on: dt.date | None = None
    purchase_order_number: str | None = None  # the engagement's when issued
    bill_to: BillTo | None = None  # the customer as billed, fixed when issued
    payments: list[Payment] = field(default_factory=list)
    version: int = 1
    created_at: dt.datetime = field(default_factory=now)
    updated_at: dt.datetime = field(default_factory=now)

    @property
    def balance(self) -> Money:
        if self.status is InvoiceStatus.VOID:
            return Money.zero(self.currency)
        return self.total - self.amount_paid

    def touch(self) -> None:
        self.version += 1
        self.updated_at = now()


@dataclass(frozen=True)
class InvoiceIssued:
    invoice: Invoice


@dataclass(frozen=True)
class InvoiceVoided:
    invoice: Invoice


@dataclass(frozen=True)
class PaymentRecorded:
    invoice: Invoice
    payment: Payment


InvoiceEvent = InvoiceIssued | InvoiceVoided | PaymentRecorded
