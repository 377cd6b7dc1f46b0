"""Billing's use cases, one module per area (invoicing, reads, the replica the PROJECT and
CUSTOMER streams build), and what they need from storage: the repository protocol."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mesh.errors import NotFound
from mesh.idempotency import KeptResponses
from services.billing.domain.aging import OpenBalance
from services.billing.domain.model import (
    BillableItem,
    BillingProfile,
    BillTo,
    Invoice,
    InvoiceEvent,
    InvoiceStatus,
    Payment,
)
from services.billing.domain.taxes import LegalEntity

T = TypeVar("T")
LegalEntities = Mapping[str, LegalEntity]


class NumberKind(enum.Enum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


@dataclass(frozen=True)
class InvoiceFilter:
    status: InvoiceStatus | None = None
    legal_entity: str | None = None
    legal_entities: tuple[str, ...] = ()
    engagement_id: uuid.UUID | None = None


class ReplicaRepository(Protocol):
    """What billing keeps of other domains: engagements' profiles, customers, billable items."""

    async def profiles(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BillingProfile]: ...
    async def bill_to(self, engagement_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BillTo]: ...
    async def upsert_profile(self, profile: BillingProfile) -> None: ...
    async def set_purchase_order_number(
        self, engagement_id: uuid.UUID, version: int, number: str
    ) -> None: ...
    async def put_customer(self, customer: BillTo) -> None: ...
    async def merge_customer(self, merged_id: uuid.UUID, survivor: BillTo) -> None: ...
    async def add_items(self, items: Sequence[BillableItem]) -> None: ...


class BillingRepository(ReplicaRepository, KeptResponses, Protocol):
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


Transact = Callable[[Callable[[BillingRepository], Awaitable[T]]], Awaitable[T]]


async def invoice(repo: BillingRepository, invoice_id: uuid.UUID, *, lock: bool) -> Invoice:
    found = (await repo.invoices([invoice_id], for_update=lock)).get(invoice_id)
    if found is None:
        raise NotFound("invoice", str(invoice_id))
    return found
