"""Events, both ways: billing's domain events -> the BILLING stream's messages, and the
PROJECT and CUSTOMER messages billing consumes -> its domain's inputs.

A consumed message that breaks its contract raises ValueError or InvalidArgument naming the
field: no retry can fix it (the consumer dead-letters it at once, with the reason)."""

from __future__ import annotations

import uuid

from google.protobuf.message import Message

from mesh.grpc.convert import date_from_proto, date_to_proto, money_to_proto
from mesh.money import is_currency
from mesh.requests import required_money, required_quantity
from services.billing.convert.customers import bill_to_address, bill_to_contact
from services.billing.convert.responses import STATUSES, decimal_text, line_to_proto
from services.billing.domain import items
from services.billing.domain.model import (
    BillingModel,
    BillingProfile,
    BillTo,
    InvoiceEvent,
    InvoiceIssued,
    InvoiceVoided,
    ScheduledMilestone,
)
from weftwork.billing.v1 import events_pb2
from weftwork.project.v1 import events_pb2 as project_events
from weftwork.project.v1 import project_service_pb2 as project_pb

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
            lines=[line_to_proto(line) for line in i.lines],
            subtotal=money_to_proto(i.subtotal),
            tax=money_to_proto(i.tax),
            tax_rate=decimal_text(i.tax_rate),
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
        status=STATUSES[i.status],
        amount_paid=money_to_proto(i.amount_paid),
        balance=money_to_proto(i.balance),
    )


MODELS = {
    project_pb.BILLING_MODEL_TIME_AND_MATERIALS: BillingModel.TIME_AND_MATERIALS,
    project_pb.BILLING_MODEL_FIXED_FEE: BillingModel.FIXED_FEE,
    project_pb.BILLING_MODEL_MILESTONE: BillingModel.MILESTONE,
}


def _schedule(e: project_pb.Engagement) -> tuple[ScheduledMilestone, ...]:
    return tuple(
        ScheduledMilestone(
            m.id,
            m.name,
            required_money(m.amount, f"milestones[{i}].amount"),
            date_from_proto(m.due_date) if m.HasField("due_date") else None,
        )
        for i, m in enumerate(e.milestones)
    )


def amended_schedule(
    message: project_events.EngagementAmended,
) -> tuple[uuid.UUID, tuple[ScheduledMilestone, ...], int]:
    """engagement.amended: the milestone schedule now in force, and its engagement version."""
    return uuid.UUID(message.engagement_id), _schedule(message.engagement), message.version


def profile_of(message: project_events.EngagementActivated) -> tuple[BillingProfile, BillTo | None]:
    """The billing profile, and the customer snapshot when it says the country."""
    e, c = message.engagement, message.customer
    if e.billing_model not in MODELS:
        raise ValueError(f"billing model {e.billing_model} is not one billing knows")
    if not is_currency(e.currency):
        raise ValueError(f"{e.currency!r} is not an ISO 4217 currency")
    markup = required_quantity(e.expense_markup_percent or "0", "expense_markup_percent")
    if markup < 0 or e.payment_terms_days < 0:
        raise ValueError("markup and payment terms must not be negative")
    customer_id = uuid.UUID(c.customer_id or e.customer_id)
    milestones = _schedule(e)
    profile = BillingProfile(
        engagement_id=uuid.UUID(message.engagement_id),
        code=e.code,
        name=e.name,
        legal_entity=e.legal_entity,
        currency=e.currency,
        billing_model=MODELS[e.billing_model],
        customer_id=customer_id,
        payment_terms_days=e.payment_terms_days,
        expense_markup_percent=markup,
        milestones=milestones,
        version=message.version or e.version,
        purchase_order_number=e.purchase_order_number,
    )
    # Without a country the snapshot cannot decide VAT: the CUSTOMER stream has to.
    snapshot = (
        BillTo(
            customer_id,
            c.name,
            c.country,
            c.tax_id or None,
            contact=bill_to_contact(c.billing_contact) if c.HasField("billing_contact") else None,
            address=bill_to_address(c.billing_address) if c.HasField("billing_address") else None,
        )
        if c.country
        else None
    )
    return profile, snapshot


def approved_time(
    message: project_events.TimeEntriesApproved,
) -> tuple[uuid.UUID, list[items.ApprovedTime]]:
    return uuid.UUID(message.engagement_id), [
        items.ApprovedTime(
            time_entry_id=e.time_entry_id,
            role=e.role,
            date=date_from_proto(e.date),
            hours=required_quantity(e.hours, f"entries[{i}].hours"),
            bill_rate=required_quantity(e.bill_rate, f"entries[{i}].bill_rate"),
            billable=e.billable,
            description=e.description,
        )
        for i, e in enumerate(message.entries)
    ]


def adjusted_time(
    message: project_events.TimeEntryAdjusted,
) -> tuple[uuid.UUID, items.AdjustedTime]:
    reversal, replacement = message.reversal, message.replacement
    before = required_quantity(reversal.hours, "reversal.hours")
    if not reversal.time_entry_id or before >= 0:
        raise ValueError("reversal: needs a time_entry_id and negative hours")
    bill_before = required_money(reversal.bill_amount, "reversal.bill_amount")
    bill_after = required_money(replacement.bill_amount, "replacement.bill_amount")
    return uuid.UUID(message.engagement_id), items.AdjustedTime(
        reversal_id=reversal.time_entry_id,
        role=replacement.role,
        date=date_from_proto(replacement.date),
        hours_before=-before,
        hours_after=required_quantity(replacement.hours, "replacement.hours"),
        bill_rate=required_quantity(replacement.bill_rate, "replacement.bill_rate"),
        difference=bill_after + bill_before,
        billable=replacement.billable,
        reason=message.reason,
    )


def approved_expense(
    m: project_events.ExpenseApproved,
) -> tuple[uuid.UUID, items.ApprovedExpense]:
    return uuid.UUID(m.engagement_id), items.ApprovedExpense(
        expense_id=m.expense_id,
        date=date_from_proto(m.date),
        category=m.category,
        description=m.description,
        amount=required_money(m.amount, "amount"),
        markup_percent=required_quantity(m.markup_percent, "markup_percent")
        if m.markup_percent
        else None,
        billable=m.billable,
    )


def completed_milestone(
    m: project_events.MilestoneCompleted,
) -> tuple[uuid.UUID, items.CompletedMilestone]:
    return uuid.UUID(m.engagement_id), items.CompletedMilestone(
        m.milestone_id, m.name, required_money(m.amount, "amount"), date_from_proto(m.completed_on)
    )


def purchase_order_set(
    message: project_events.PurchaseOrderNumberSet,
) -> tuple[uuid.UUID, int, str]:
    return uuid.UUID(message.engagement_id), message.version, message.purchase_order_number
