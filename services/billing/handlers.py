"""Billing use cases that change state: run billing, issue, void, record a payment.

Each runs in one transaction with its events; the repository is bound to that transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mesh.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from mesh.money import Money
from services.billing.domain import invoicing
from services.billing.domain.aging import OpenBalance
from services.billing.domain.model import (
    BillableItem,
    BillingProfile,
    BillTo,
    Invoice,
    InvoiceEvent,
    InvoiceIssued,
    InvoiceStatus,
    InvoiceVoided,
    Payment,
    PaymentRecorded,
)
from services.billing.domain.taxes import NO_TAX, LegalEntity, TaxTreatment, tax_treatment

T = TypeVar("T")
MAX_REASON = 500
MAX_REFERENCE = 128
LEGAL_ENTITY_CODE = re.compile(r"^[A-Z0-9]{2,8}$")


class NumberKind(enum.Enum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


@dataclass(frozen=True)
class InvoiceFilter:
    status: InvoiceStatus | None = None
    legal_entity: str | None = None
    legal_entities: tuple[str, ...] = ()
    engagement_id: uuid.UUID | None = None


class BillingRepository(Protocol):
    async def profiles(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BillingProfile]: ...
    async def bill_to(self, engagement_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BillTo]: ...
    async def lock_engagements_to_bill(
        self, cutoff: dt.date, engagement_id: uuid.UUID | None, legal_entity: str | None
    ) -> list[uuid.UUID]: ...
    async def draft_unbilled(
        self, engagement_ids: Sequence[uuid.UUID], cutoff: dt.date
    ) -> list[uuid.UUID]: ...
    async def invoices(
        self, ids: Sequence[uuid.UUID], *, for_update: bool = False
    ) -> dict[uuid.UUID, Invoice]: ...
    async def save(self, invoices: Sequence[Invoice]) -> None: ...
    async def allocate_number(self, legal_entity: str, kind: NumberKind, year: int) -> int: ...
    async def release_items(self, invoice_id: uuid.UUID) -> None: ...
    async def payment_by_reference(
        self, invoice_id: uuid.UUID, reference: str
    ) -> Payment | None: ...
    async def add_payment(self, payment: Payment) -> None: ...
    async def emit(self, event: InvoiceEvent) -> None: ...
    async def page(
        self, *, where: InvoiceFilter, after: tuple[dt.date, uuid.UUID] | None, limit: int
    ) -> list[Invoice]: ...
    async def invoices_of_engagements(
        self, engagement_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Invoice]]: ...
    async def unbilled(self, engagement_id: uuid.UUID) -> list[BillableItem]: ...
    async def open_balances(
        self, as_of: dt.date, legal_entity: str | None
    ) -> list[OpenBalance]: ...
    async def claim_request(
        self, method: str, key: str, request_hash: bytes
    ) -> tuple[bytes, bytes | None] | None: ...
    async def keep_response(self, method: str, key: str, response: bytes) -> None: ...


Transact = Callable[[Callable[[BillingRepository], Awaitable[T]]], Awaitable[T]]
LegalEntities = Mapping[str, LegalEntity]


def check_legal_entity(code: str, field: str) -> None:
    """The shape of an entity code: billing drafts for any entity, issues for configured ones."""
    if not LEGAL_ENTITY_CODE.match(code):
        raise InvalidArgument.one(field, f"{code[:16]!r} is not a legal entity code, e.g. UK01")


async def invoice(repo: BillingRepository, invoice_id: uuid.UUID, *, lock: bool) -> Invoice:
    found = (await repo.invoices([invoice_id], for_update=lock)).get(invoice_id)
    if found is None:
        raise NotFound("invoice", str(invoice_id))
    return found


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
        check_legal_entity(legal_entity, "legal_entity")
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
            f"legal entity {draft.legal_entity} is not configured in billing"
            " (WEFTWORK_BILLING_LEGAL_ENTITIES)"
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
        raise AlreadyExists(
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
