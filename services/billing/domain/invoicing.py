"""An invoice's life: priced, issued with a gapless number, paid, or voided by a credit note."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mesh.errors import FailedPrecondition, InvalidArgument
from mesh.money import Money, bounded_amount, total
from services.billing.domain.model import OPEN, BillableItem, Invoice, InvoiceStatus, Payment
from services.billing.domain.taxes import TaxTreatment

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    tax: Money
    tax_rate: Decimal
    tax_note: str
    total: Money


def price(lines: Sequence[BillableItem], currency: str, treatment: TaxTreatment) -> Totals:
    """Subtotal = sum of the rounded lines; tax = round(subtotal * rate) once, on the subtotal,
    so the tax is what the rate says of the net total, never a sum of per-line roundings."""
    subtotal = total((line.amount for line in lines), currency)
    tax = subtotal.times(treatment.rate / HUNDRED)
    return Totals(subtotal, tax, treatment.rate, treatment.note, subtotal + tax)


def apply_totals(invoice: Invoice, totals: Totals) -> None:
    invoice.subtotal, invoice.tax, invoice.total = totals.subtotal, totals.tax, totals.total
    invoice.tax_rate, invoice.tax_note = totals.tax_rate, totals.tax_note


def invoice_number(legal_entity: str, year: int, sequence: int) -> str:
    return f"{legal_entity}-{year:04d}-{sequence:06d}"


def credit_note_number(legal_entity: str, year: int, sequence: int) -> str:
    return f"CN-{invoice_number(legal_entity, year, sequence)}"


def due_date(issue_date: dt.date, payment_terms_days: int) -> dt.date:
    """The project service resolves the default (30) when the engagement is created, so 0 here
    is a real choice: due on receipt."""
    return issue_date + dt.timedelta(days=payment_terms_days)


def needs_issuing(invoice: Invoice, issue_date: dt.date) -> bool:
    """False for a retry (already issued on that date); raises for any other non-draft."""
    if invoice.status is InvoiceStatus.DRAFT:
        if not invoice.lines:
            raise FailedPrecondition(f"invoice {invoice.id} has no lines to issue")
        if invoice.subtotal.amount < 0:  # only corrections' credit lines (DESIGN.md §9)
            raise FailedPrecondition(
                f"invoice {invoice.id} credits more than it charges ({invoice.subtotal}); it is"
                " issued once later billable work outweighs its credit lines"
            )
        return True
    if invoice.status is not InvoiceStatus.VOID and invoice.issue_date == issue_date:
        return False
    issued = f" (issued {invoice.issue_date} as {invoice.number})" if invoice.number else ""
    raise FailedPrecondition(
        f"invoice {invoice.id} is {invoice.status.value}{issued}; only a DRAFT can be issued"
    )


def issue(
    invoice: Invoice,
    *,
    number: str,
    issue_date: dt.date,
    payment_terms_days: int,
    treatment: TaxTreatment,
    customer_country: str,
) -> None:
    apply_totals(invoice, price(invoice.lines, invoice.currency, treatment))
    invoice.status = InvoiceStatus.ISSUED
    invoice.number = number
    invoice.issue_date = issue_date
    invoice.due_date = due_date(issue_date, payment_terms_days)
    invoice.customer_country = customer_country
    invoice.touch()


def needs_voiding(invoice: Invoice) -> bool:
    """False for a retry (already void); raises when money was received against it."""
    if invoice.status is InvoiceStatus.VOID:
        return False
    if invoice.amount_paid.amount > 0:
        raise FailedPrecondition(
            f"invoice {invoice.number} has {invoice.amount_paid} paid against it; only an"
            " unpaid invoice can be voided (refund the payments first)"
        )
    return True


def void_date(invoice: Invoice, today: dt.date) -> dt.date:
    """The credit note's date: today, but never before the invoice it cancels."""
    return max(today, invoice.issue_date) if invoice.issue_date else today


def void(invoice: Invoice, *, reason: str, on: dt.date, credit_note: str | None) -> None:
    invoice.status = InvoiceStatus.VOID
    invoice.void_reason = reason
    invoice.voided_on = on
    invoice.credit_note_number = credit_note
    invoice.touch()


def check_payment(invoice: Invoice, amount: Money, received_on: dt.date) -> None:
    """Bad input first (INVALID_ARGUMENT), then the invoice's state (FAILED_PRECONDITION)."""
    if amount.currency != invoice.currency:
        raise InvalidArgument.one(
            "amount.currency_code", f"must be the invoice's currency {invoice.currency}"
        )
    if amount.amount <= 0:
        raise InvalidArgument.one("amount", "must be greater than zero")
    try:
        bounded_amount(amount.amount, amount.currency)
    except ValueError as exc:
        raise InvalidArgument.one("amount", f"{exc} ({amount.currency})") from None
    if invoice.issue_date is not None and received_on < invoice.issue_date:
        raise InvalidArgument.one(
            "received_on", f"{received_on} is before the invoice's issue date {invoice.issue_date}"
        )
    if invoice.status not in OPEN:
        state = {
            InvoiceStatus.DRAFT: "is a draft; issue it before recording payments",
            InvoiceStatus.PAID: "is paid in full",
            InvoiceStatus.VOID: "is void",
        }[invoice.status]
        raise FailedPrecondition(f"invoice {invoice.number or invoice.id} {state}")
    if amount.amount > invoice.balance.amount:
        raise FailedPrecondition(
            f"over-payment: {amount} exceeds the balance {invoice.balance}"
            f" of invoice {invoice.number}"
        )


def record_payment(invoice: Invoice, payment: Payment) -> None:
    invoice.payments.append(payment)
    invoice.amount_paid = invoice.amount_paid + payment.amount
    fully_paid = invoice.amount_paid.amount == invoice.total.amount
    invoice.status = InvoiceStatus.PAID if fully_paid else InvoiceStatus.PARTIALLY_PAID
    invoice.touch()
