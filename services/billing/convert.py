"""Billing's domain <-> protobuf, and request fields parsed with field-precise errors."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from decimal import Decimal

from google.type import date_pb2, money_pb2

from mesh import requests
from mesh.errors import InvalidArgument
from mesh.grpc.convert import date_from_proto, date_to_proto, money_from_proto, money_to_proto
from mesh.grpc.convert import timestamp_to_proto as timestamp
from mesh.money import Money, is_currency
from services.billing.domain.aging import CurrencyAging
from services.billing.domain.model import BillableItem, Invoice, InvoiceStatus, ItemKind, Payment
from weftwork.billing.v1 import billing_service_pb2 as pb

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


def parse_id(value: str, field: str, kind: str = "invoice") -> uuid.UUID:
    return requests.parse_id(value, field, kind=f"an {kind} id")


def parse_ids(values: list[str], field: str, kind: str = "invoice") -> list[uuid.UUID]:
    return requests.parse_ids(values, field, kind=f"an {kind} id")


def parse_date(message: date_pb2.Date, field: str) -> dt.date:
    try:
        return date_from_proto(message)
    except ValueError:
        raise InvalidArgument.one(field, "is required: a valid calendar date") from None


def parse_money(message: money_pb2.Money, field: str) -> Money:
    """As sent: rounding it would hide a mistake, so the use case checks the minor unit."""
    if not is_currency(message.currency_code):
        raise InvalidArgument.one(f"{field}.currency_code", "must be an ISO 4217 currency code")
    if abs(message.nanos) >= 1_000_000_000 or message.units * message.nanos < 0:
        raise InvalidArgument.one(f"{field}.nanos", "must be below 10^9 with the sign of units")
    return money_from_proto(message)


def encode_cursor(cursor: tuple[dt.date, uuid.UUID] | None) -> str:
    if cursor is None:
        return ""
    return base64.urlsafe_b64encode(f"{cursor[0].isoformat()}/{cursor[1]}".encode()).decode()


def decode_cursor(token: str) -> tuple[dt.date, uuid.UUID] | None:
    if not token:
        return None
    try:
        day, _, invoice_id = base64.urlsafe_b64decode(token.encode()).decode().partition("/")
        return dt.date.fromisoformat(day), uuid.UUID(invoice_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument.one("page_token", "is not a token this service issued") from None
