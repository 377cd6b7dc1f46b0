"""Billing use cases that change state: run billing, issue, void, record a payment.

Each runs in one transaction with its events; the repository is bound to that transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid

from mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from mesh.idempotency import IdempotencyKeyReused
from mesh.money import Money
from mesh.requests import parse_legal_entity
from services.billing.domain import invoicing
from services.billing.domain.model import (
    Invoice,
    InvoiceIssued,
    InvoiceVoided,
    Payment,
    PaymentRecorded,
)
from services.billing.domain.taxes import NO_TAX, TaxTreatment, tax_treatment
from services.billing.handlers import BillingRepository, LegalEntities, NumberKind, invoice

MAX_REASON = 500
MAX_REFERENCE = 128


async def run_billing(
    repo: BillingRepository,
    entities: LegalEntities,
    *,
    cutoff: dt.date,
    engagement_id: uuid.UUID | None,
    legal_entity: str | None,
) -> list[Invoice]:
    """One DRAFT per engagement with every unbilled item dated on or before the cutoff."""
    if legal_entity is not None:
        parse_legal_entity(legal_entity, "legal_entity")
    if engagement_id is not None and not await repo.profiles([engagement_id]):
        raise NotFound("engagement", f"{engagement_id} (not set up in billing)")
    # Locking the engagements first serializes concurrent runs per engagement.
    engagements = await repo.lock_engagements_to_bill(cutoff, engagement_id, legal_entity)
    if not engagements:
        return []
    drafts = list((await repo.invoices(await repo.draft_unbilled(engagements, cutoff))).values())
    customers = await repo.bill_to([d.engagement_id for d in drafts])
    for draft in drafts:
        # A preview: issuing prices again with the customer's country as it is then.
        entity = entities.get(draft.legal_entity)
        customer = customers.get(draft.engagement_id)
        treatment = (
            tax_treatment(entity, customer.country)
            if entity and customer
            else TaxTreatment(NO_TAX, "")
        )
        invoicing.apply_totals(draft, invoicing.price(draft.lines, draft.currency, treatment))
    await repo.save(drafts)
    return sorted(drafts, key=lambda d: str(d.engagement_id))


async def issue_invoice(
    repo: BillingRepository, entities: LegalEntities, invoice_id: uuid.UUID, issue_date: dt.date
) -> Invoice:
    """The next gapless number of the entity and year, taken in this transaction."""
    draft = await invoice(repo, invoice_id, lock=True)
    if not invoicing.needs_issuing(draft, issue_date):
        return draft
    entity = entities.get(draft.legal_entity)
    if entity is None:
        raise FailedPrecondition(
            f"legal entity {draft.legal_entity} is not configured (WEFTWORK_LEGAL_ENTITIES)"
        )
    profile = (await repo.profiles([draft.engagement_id]))[draft.engagement_id]
    customer = (await repo.bill_to([draft.engagement_id])).get(draft.engagement_id)
    if customer is None:
        raise FailedPrecondition(
            f"billing has no country for the customer of engagement {draft.engagement_id} yet"
            " (VAT depends on it); it arrives with the customer's next event"
        )
    sequence = await repo.allocate_number(entity.code, NumberKind.INVOICE, issue_date.year)
    draft.customer_id = customer.customer_id
    draft.purchase_order_number = profile.purchase_order_number
    draft.bill_to = customer
    invoicing.issue(
        draft,
        number=invoicing.invoice_number(entity.code, issue_date.year, sequence),
        issue_date=issue_date,
        payment_terms_days=profile.payment_terms_days,
        treatment=tax_treatment(entity, customer.country),
        customer_country=customer.country,
    )
    await repo.save([draft])
    await repo.emit(InvoiceIssued(draft))
    return draft


async def void_invoice(
    repo: BillingRepository, invoice_id: uuid.UUID, reason: str, today: dt.date
) -> Invoice:
    """An issued, unpaid invoice gets a credit note; its items are unbilled again."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise InvalidArgument.one("reason", f"is required, at most {MAX_REASON} characters")
    found = await invoice(repo, invoice_id, lock=True)
    if not invoicing.needs_voiding(found):
        return found
    on = invoicing.void_date(found, today)
    credit_note = None
    if found.number is not None:  # a draft was never a receivable: nothing to credit
        sequence = await repo.allocate_number(found.legal_entity, NumberKind.CREDIT_NOTE, on.year)
        credit_note = invoicing.credit_note_number(found.legal_entity, on.year, sequence)
    await repo.release_items(found.id)
    invoicing.void(found, reason=reason, on=on, credit_note=credit_note)
    await repo.save([found])
    if credit_note is not None:
        await repo.emit(InvoiceVoided(found))
    return found


async def record_payment(
    repo: BillingRepository,
    invoice_id: uuid.UUID,
    amount: Money,
    received_on: dt.date,
    reference: str,
) -> tuple[Invoice, Payment]:
    """Idempotent on (invoice, reference): a retry returns the payment already recorded."""
    reference = reference.strip()
    if not reference or len(reference) > MAX_REFERENCE or not reference.isprintable():
        raise InvalidArgument.one(
            "reference", f"is required, printable, at most {MAX_REFERENCE} characters"
        )
    found = await invoice(repo, invoice_id, lock=True)
    earlier = await repo.payment_by_reference(found.id, reference)
    if earlier is not None:
        if (earlier.amount, earlier.received_on) == (amount, received_on):
            return found, earlier
        raise IdempotencyKeyReused(
            f"payment {reference!r} is already recorded on invoice {found.number} as"
            f" {earlier.amount} received {earlier.received_on}"
        )
    invoicing.check_payment(found, amount, received_on)
    payment = Payment(uuid.uuid4(), found.id, amount, received_on, reference)
    invoicing.record_payment(found, payment)
    await repo.add_payment(payment)
    await repo.save([found])
    await repo.emit(PaymentRecorded(found, payment))
    return found, payment
