"""Invoices as the controller sees them: numbered, taxed, paid, or voided with a credit note."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal
from typing import Self

import strawberry

from gateway.common import Money, date, money_required
from gateway.context import Info
from gateway.customers.types import Customer
from gateway.documents.routes import credit_note_url, document_path
from weftwork.billing.v1 import billing_service_pb2 as pb


@strawberry.enum
class InvoiceStatus(enum.Enum):
    DRAFT = pb.INVOICE_STATUS_DRAFT
    ISSUED = pb.INVOICE_STATUS_ISSUED
    PARTIALLY_PAID = pb.INVOICE_STATUS_PARTIALLY_PAID
    PAID = pb.INVOICE_STATUS_PAID
    VOID = pb.INVOICE_STATUS_VOID


@strawberry.enum
class InvoiceLineKind(enum.Enum):
    TIME = pb.INVOICE_LINE_KIND_TIME
    EXPENSE = pb.INVOICE_LINE_KIND_EXPENSE
    MILESTONE = pb.INVOICE_LINE_KIND_MILESTONE


@strawberry.type
class InvoiceLine:
    kind: InvoiceLineKind
    description: str
    quantity: Decimal
    unit_price: Money
    amount: Money


@strawberry.type
class InvoiceFacts:
    """An invoice as billing holds it; gateway/engagements/view.py adds its engagement."""

    id: strawberry.ID
    number: str | None
    status: InvoiceStatus
    legal_entity: str
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str
    subtotal: Money
    tax: Money
    tax_rate: Decimal | None
    tax_note: str | None
    total: Money
    amount_paid: Money
    balance: Money
    credit_note_number: str | None
    version: int
    purchase_order_number: str | None = strawberry.field(
        description="The engagement's PO when the invoice was issued."
    )
    voided_on: dt.date | None
    document_url: str | None = strawberry.field(
        description="The PDF the customer receives, on this gateway (the same bearer token); "
        "null while DRAFT."
    )
    credit_note_url: str | None = strawberry.field(
        description="The credit note's PDF once an issued invoice is voided."
    )
    engagement_id: strawberry.Private[str]
    customer_id: strawberry.Private[str]
    _lines: strawberry.Private[Sequence[pb.InvoiceLine]]

    @strawberry.field
    def lines(self) -> list[InvoiceLine]:
        """Converted when asked for: a page of engagements and their invoices rarely is."""
        return [
            InvoiceLine(
                kind=InvoiceLineKind(line.kind),
                description=line.description,
                quantity=Decimal(line.quantity or "0"),
                unit_price=money_required(line.unit_price, self.currency),
                amount=money_required(line.amount, self.currency),
            )
            for line in self._lines
        ]

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        found = await info.context.loaders.customers.load(self.customer_id)
        return Customer.from_proto(found) if found else None

    @classmethod
    def from_proto(cls, i: pb.Invoice) -> Self:
        c = i.currency
        return cls(
            id=strawberry.ID(i.id),
            number=i.number or None,
            status=InvoiceStatus(i.status),
            legal_entity=i.legal_entity,
            issue_date=date(i.issue_date),
            due_date=date(i.due_date),
            currency=c,
            subtotal=money_required(i.subtotal, c),
            tax=money_required(i.tax, c),
            tax_rate=Decimal(i.tax_rate) if i.tax_rate else None,
            tax_note=i.tax_note or None,
            total=money_required(i.total, c),
            amount_paid=money_required(i.amount_paid, c),
            balance=money_required(i.balance, c),
            credit_note_number=i.credit_note_number or None,
            version=i.version,
            purchase_order_number=i.purchase_order_number or None,
            voided_on=date(i.voided_on) if i.HasField("voided_on") else None,
            document_url=document_path(i),
            credit_note_url=credit_note_url(i.id) if i.credit_note_number else None,
            engagement_id=i.engagement_id,
            customer_id=i.customer_id,
            _lines=i.lines,
        )
