"""Billing's domain events as the protobuf messages of the BILLING stream."""

from __future__ import annotations

from google.protobuf.message import Message

from mesh.grpc.convert import date_to_proto, money_to_proto
from services.billing import convert
from services.billing.domain.model import InvoiceEvent, InvoiceIssued, InvoiceVoided
from weftwork.billing.v1 import events_pb2

ISSUED = "weftwork.billing.invoice.issued.v1"
VOIDED = "weftwork.billing.invoice.voided.v1"
PAYMENT_RECORDED = "weftwork.billing.payment.recorded.v1"


def to_message(event: InvoiceEvent) -> tuple[str, Message]:
    """(subject, payload) of one domain event; the aggregate is event.invoice."""
    i = event.invoice
    if isinstance(event, InvoiceIssued):
        assert i.number and i.issue_date and i.due_date
        return ISSUED, events_pb2.InvoiceIssued(
            invoice_id=str(i.id),
            version=i.version,
            number=i.number,
            engagement_id=str(i.engagement_id),
            customer_id=str(i.customer_id),
            legal_entity=i.legal_entity,
            currency=i.currency,
            issue_date=date_to_proto(i.issue_date),
            due_date=date_to_proto(i.due_date),
            lines=[convert.line_to_proto(line) for line in i.lines],
            subtotal=money_to_proto(i.subtotal),
            tax=money_to_proto(i.tax),
            tax_rate=convert.decimal_text(i.tax_rate),
            tax_note=i.tax_note,
            total=money_to_proto(i.total),
        )
    if isinstance(event, InvoiceVoided):
        assert i.number and i.credit_note_number and i.voided_on
        return VOIDED, events_pb2.InvoiceVoided(
            invoice_id=str(i.id),
            version=i.version,
            number=i.number,
            credit_note_number=i.credit_note_number,
            engagement_id=str(i.engagement_id),
            legal_entity=i.legal_entity,
            currency=i.currency,
            voided_on=date_to_proto(i.voided_on),
            reason=i.void_reason or "",
            subtotal=money_to_proto(i.subtotal),
            tax=money_to_proto(i.tax),
            total=money_to_proto(i.total),
            source_ids=[line.source_id for line in i.lines],
        )
    p = event.payment
    return PAYMENT_RECORDED, events_pb2.PaymentRecorded(
        invoice_id=str(i.id),
        version=i.version,
        payment_id=str(p.id),
        engagement_id=str(i.engagement_id),
        legal_entity=i.legal_entity,
        currency=i.currency,
        amount=money_to_proto(p.amount),
        received_on=date_to_proto(p.received_on),
        reference=p.reference,
        status=convert.STATUSES[i.status],
        amount_paid=money_to_proto(i.amount_paid),
        balance=money_to_proto(i.balance),
    )
