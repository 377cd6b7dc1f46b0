"""PROJECT and BILLING events as validated revenue facts.

A field that breaks its contract (an unknown currency, an unrounded amount, a malformed id, a
number out of DESIGN.md §6's bounds) raises InvalidArgument naming the field: no retry can fix
such an event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from google.type import date_pb2, money_pb2

from mesh import requests
from mesh.errors import Violations
from mesh.grpc.convert import date_from_proto
from mesh.money import Money, bounded_amount, is_currency
from services.revenue.domain import facts
from services.revenue.domain.facts import BillingModel, Fact, RatedTime, Terms
from weftwork.billing.v1 import events_pb2 as billing
from weftwork.project.v1 import events_pb2 as project
from weftwork.project.v1 import project_service_pb2 as project_pb

BILLING_MODELS = {
    project_pb.BILLING_MODEL_TIME_AND_MATERIALS: BillingModel.TIME_AND_MATERIALS,
    project_pb.BILLING_MODEL_FIXED_FEE: BillingModel.FIXED_FEE,
    project_pb.BILLING_MODEL_MILESTONE: BillingModel.MILESTONE,
}
_NIL = uuid.UUID(int=0)
_EPOCH = dt.date(1970, 1, 1)


class _Reader:
    """Reads fields, collecting every violation before raising them together."""

    def __init__(self) -> None:
        self.errors = Violations()

    def id(self, value: str, field: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            self.errors.add(field, f"{value[:64]!r} is not a UUID")
            return _NIL

    def text(self, value: str, field: str) -> str:
        if not value.strip():
            self.errors.add(field, "is required")
        return value.strip()

    def date(self, value: date_pb2.Date, field: str) -> dt.date:
        try:
            return date_from_proto(value)
        except ValueError:
            self.errors.add(field, "is not a valid date")
            return _EPOCH

    def decimal(self, value: str, field: str, *, default: str | None = None) -> Decimal:
        number = requests.quantity(value or default or "", field, self.errors)
        if number is None:
            return Decimal(0)
        if number < 0:
            self.errors.add(field, "must not be negative")
        return number

    def money(self, value: money_pb2.Money, field: str) -> Money:
        amount = requests.money(value, field, self.errors)
        if amount is None:
            return Money.zero("XXX")
        if not is_currency(amount.currency):
            self.errors.add(f"{field}.currency_code", f"{amount.currency!r} is not ISO 4217")
            return Money.zero("XXX")
        try:
            bounded_amount(amount.amount, amount.currency)
        except ValueError as exc:
            self.errors.add(field, f"{amount}: {exc}")
        else:
            if amount.amount < 0:
                self.errors.add(field, "must not be negative")
        return Money.of(amount.amount, amount.currency)


def terms(message: project.EngagementActivated) -> Terms:
    read, e = _Reader(), message.engagement
    currency = e.currency if is_currency(e.currency) else "XXX"
    if currency != e.currency:
        read.errors.add("engagement.currency", f"{e.currency!r} is not ISO 4217")
    model = BILLING_MODELS.get(e.billing_model)
    if model is None:
        read.errors.add("engagement.billing_model", "is required")
    value = (
        read.money(e.contract_value, "engagement.contract_value")
        if e.HasField("contract_value")
        else Money.zero(currency)
    )
    if value.currency != currency:
        read.errors.add("engagement.contract_value.currency_code", f"must be {currency}")
    budget = read.decimal(e.budget_hours, "engagement.budget_hours", default="0")
    if model is BillingModel.FIXED_FEE and budget <= 0:
        read.errors.add("engagement.budget_hours", "must be > 0 for FIXED_FEE")
    start = read.date(e.start_date, "engagement.start_date")
    created = e.create_time.ToDatetime(dt.UTC).date() if e.HasField("create_time") else start
    found = Terms(
        engagement_id=read.id(message.engagement_id, "engagement_id"),
        code=e.code,
        name=e.name,
        legal_entity=read.text(e.legal_entity, "engagement.legal_entity"),
        currency=currency,
        billing_model=model or BillingModel.TIME_AND_MATERIALS,
        customer_id=message.customer.customer_id or e.customer_id,
        customer_name=message.customer.name,
        contract_value=Money.of(value.amount, currency),
        budget_hours=budget,
        expense_markup_percent=read.decimal(
            e.expense_markup_percent, "engagement.expense_markup_percent", default="0"
        ),
        signed_on=min(start, created),
        terms_version=max(1, e.terms_version),  # 0: an activation from before amendments
    )
    read.errors.raise_if_any()
    return found


def time(m: project.TimeEntriesApproved, event_id: uuid.UUID) -> Fact:
    read = _Reader()
    entries = tuple(
        RatedTime(
            time_entry_id=read.text(e.time_entry_id, f"entries[{i}].time_entry_id"),
            service_date=read.date(e.date, f"entries[{i}].date"),
            hours=read.decimal(e.hours, f"entries[{i}].hours"),
            bill_rate=read.decimal(e.bill_rate, f"entries[{i}].bill_rate"),
            cost_rate=read.decimal(e.cost_rate, f"entries[{i}].cost_rate"),
            billable=e.billable,
        )
        for i, e in enumerate(m.entries)
    )
    if not entries:
        read.errors.add("entries", "at least one entry")
    fact = facts.TimeApproved(read.id(m.engagement_id, "engagement_id"), event_id, entries)
    read.errors.raise_if_any()
    return fact


def expense(m: project.ExpenseApproved, event_id: uuid.UUID) -> Fact:
    read = _Reader()
    fact = facts.ExpenseApproved(
        engagement_id=read.id(m.engagement_id, "engagement_id"),
        event_id=event_id,
        expense_id=read.text(m.expense_id, "expense_id"),
        service_date=read.date(m.date, "date"),
        category=m.category,
        amount=read.money(m.amount, "amount"),
        # Snapshotted at approval; the engagement's markup when a producer leaves it out.
        markup_percent=read.decimal(m.markup_percent, "markup_percent")
        if m.markup_percent
        else None,
        billable=m.billable,
    )
    read.errors.raise_if_any()
    return fact


def milestone(m: project.MilestoneCompleted, event_id: uuid.UUID) -> Fact:
    read = _Reader()
    fact = facts.MilestoneCompleted(
        engagement_id=read.id(m.engagement_id, "engagement_id"),
        event_id=event_id,
        milestone_id=read.text(m.milestone_id, "milestone_id"),
        name=m.name,
        amount=read.money(m.amount, "amount"),
        completed_on=read.date(m.completed_on, "completed_on"),
    )
    read.errors.raise_if_any()
    return fact


def completed(m: project.EngagementCompleted, event_id: uuid.UUID) -> Fact:
    read = _Reader()
    fact = facts.EngagementCompleted(
        read.id(m.engagement_id, "engagement_id"),
        event_id,
        read.date(m.completed_on, "completed_on"),
    )
    read.errors.raise_if_any()
    return fact


def issued(m: billing.InvoiceIssued, event_id: uuid.UUID) -> Fact:
    read = _Reader()
    fact = facts.InvoiceIssued(
        engagement_id=read.id(m.engagement_id, "engagement_id"),
        event_id=event_id,
        invoice_id=read.id(m.invoice_id, "invoice_id"),
        number=m.number,
        issue_date=read.date(m.issue_date, "issue_date"),
        subtotal=read.money(m.subtotal, "subtotal"),
        tax=read.money(m.tax, "tax"),
    )
    _check_total(read, fact.subtotal, fact.tax, m.total)
    return fact


def voided(m: billing.InvoiceVoided, event_id: uuid.UUID) -> Fact:
    read = _Reader()
    fact = facts.InvoiceVoided(
        engagement_id=read.id(m.engagement_id, "engagement_id"),
        event_id=event_id,
        invoice_id=read.id(m.invoice_id, "invoice_id"),
        number=m.number,
        credit_note_number=m.credit_note_number,
        voided_on=read.date(m.voided_on, "voided_on"),
        subtotal=read.money(m.subtotal, "subtotal"),
        tax=read.money(m.tax, "tax"),
    )
    _check_total(read, fact.subtotal, fact.tax, m.total)
    return fact


def _check_total(read: _Reader, subtotal: Money, tax: Money, total: money_pb2.Money) -> None:
    """The receivable is subtotal + tax; a total that says otherwise is a broken event."""
    stated = read.money(total, "total")
    if not read.errors.items and (subtotal.currency != tax.currency or subtotal + tax != stated):
        read.errors.add("total", f"{stated} is not subtotal {subtotal} + tax {tax}")
    read.errors.raise_if_any()


def payment(m: billing.PaymentRecorded, event_id: uuid.UUID) -> Fact:
    read = _Reader()
    fact = facts.PaymentRecorded(
        engagement_id=read.id(m.engagement_id, "engagement_id"),
        event_id=event_id,
        payment_id=read.text(m.payment_id, "payment_id"),
        invoice_id=read.id(m.invoice_id, "invoice_id"),
        received_on=read.date(m.received_on, "received_on"),
        amount=read.money(m.amount, "amount"),
        reference=m.reference,
    )
    read.errors.raise_if_any()
    return fact
