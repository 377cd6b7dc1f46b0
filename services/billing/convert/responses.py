"""Billing's domain -> the protobuf messages of its responses (and of its events' lines)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from google.type import date_pb2

from mesh.grpc.convert import date_to_proto, money_to_proto
from mesh.grpc.convert import timestamp_to_proto as timestamp
from services.billing.domain.aging import CurrencyAging
from services.billing.domain.model import (
    BillableItem,
    BillTo,
    Invoice,
    InvoiceStatus,
    ItemKind,
    Payment,
)
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.customer.v1 import customer_service_pb2 as customer_pb

KINDS = {
    ItemKind.TIME: pb.INVOICE_LINE_KIND_TIME,
    ItemKind.EXPENSE: pb.INVOICE_LINE_KIND_EXPENSE,
    ItemKind.MILESTONE: pb.INVOICE_LINE_KIND_MILESTONE,
}
STATUSES = {
    InvoiceStatus.DRAFT: pb.INVOICE_STATUS_DRAFT,
    InvoiceStatus.ISSUED: pb.INVOICE_STATUS_ISSUED,
    InvoiceStatus.PARTIALLY_PAID: pb.INVOICE_STATUS_PARTIALLY_PAID,
    InvoiceStatus.PAID: pb.INVOICE_STATUS_PAID,
    InvoiceStatus.VOID: pb.INVOICE_STATUS_VOID,
}
STATUS_FROM_PROTO = {v: k for k, v in STATUSES.items()}


def decimal_text(value: Decimal) -> str:
    """A plain decimal string ("7.50", "20"), never an exponent form."""
    return f"{value:f}"


def optional_date(value: dt.date | None) -> date_pb2.Date | None:
    return date_to_proto(value) if value else None


def line_to_proto(item: BillableItem) -> pb.InvoiceLine:
    return pb.InvoiceLine(
        kind=KINDS[item.kind],
        description=item.description,
        quantity=decimal_text(item.quantity),
        unit_price=money_to_proto(item.unit_price),
        amount=money_to_proto(item.amount),
        source_ids=[item.source_id],
        service_start_date=date_to_proto(item.service_date),
        service_end_date=date_to_proto(item.service_date),
    )


def payment_to_proto(payment: Payment) -> pb.Payment:
    return pb.Payment(
        id=str(payment.id),
        invoice_id=str(payment.invoice_id),
        amount=money_to_proto(payment.amount),
        received_on=date_to_proto(payment.received_on),
        reference=payment.reference,
        record_time=timestamp(payment.recorded_at),
    )


def invoice_to_proto(invoice: Invoice) -> pb.Invoice:
    return pb.Invoice(
        id=str(invoice.id),
        number=invoice.number or "",
        status=STATUSES[invoice.status],
        engagement_id=str(invoice.engagement_id),
        customer_id=str(invoice.customer_id),
        legal_entity=invoice.legal_entity,
        currency=invoice.currency,
        issue_date=optional_date(invoice.issue_date),
        due_date=optional_date(invoice.due_date),
        lines=[line_to_proto(line) for line in invoice.lines],
        subtotal=money_to_proto(invoice.subtotal),
        tax=money_to_proto(invoice.tax),
        tax_rate=decimal_text(invoice.tax_rate),
        tax_note=invoice.tax_note,
        total=money_to_proto(invoice.total),
        amount_paid=money_to_proto(invoice.amount_paid),
        balance=money_to_proto(invoice.balance),
        credit_note_number=invoice.credit_note_number or "",
        void_reason=invoice.void_reason or "",
        purchase_order_number=invoice.purchase_order_number or "",
        voided_on=date_to_proto(invoice.voided_on) if invoice.voided_on else None,
        bill_to=bill_to_to_proto(invoice.bill_to) if invoice.bill_to else None,
        payments=[payment_to_proto(p) for p in invoice.payments],
        version=invoice.version,
        create_time=timestamp(invoice.created_at),
        update_time=timestamp(invoice.updated_at),
    )


def unbilled_to_proto(item: BillableItem) -> pb.UnbilledItem:
    return pb.UnbilledItem(
        kind=KINDS[item.kind],
        source_id=item.source_id,
        date=date_to_proto(item.service_date),
        description=item.description,
        quantity=decimal_text(item.quantity),
        unit_price=money_to_proto(item.unit_price),
        amount=money_to_proto(item.amount),
    )


def aging_to_proto(aging: CurrencyAging) -> pb.CurrencyAging:
    return pb.CurrencyAging(
        currency=aging.currency,
        **{name: money_to_proto(amount) for name, amount in aging.buckets.items()},
        total=money_to_proto(aging.total),
        open_invoices=aging.open_invoices,
    )


def bill_to_to_proto(b: BillTo) -> pb.InvoiceBillTo:
    c, a = b.contact, b.address
    return pb.InvoiceBillTo(
        name=b.name,
        country=b.country,
        tax_id=b.tax_id or "",
        contact=customer_pb.BillingContact(name=c.name, email=c.email) if c else None,
        address=customer_pb.PostalAddress(
            lines=a.lines, city=a.city, postcode=a.postcode, country=a.country
        )
        if a
        else None,
    )
