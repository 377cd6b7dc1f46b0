"""Billing reads: invoices one, many, by engagement and paged; unbilled items; aging."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from mesh.errors import InvalidArgument, NotFound
from mesh.money import Money, total
from mesh.paging import page_limit, split_page
from mesh.requests import parse_legal_entity
from services.billing.domain.aging import CurrencyAging, age
from services.billing.domain.model import BillableItem, Invoice
from services.billing.handlers import BillingRepository, InvoiceFilter, invoice

MAX_LEGAL_ENTITIES = 100
Cursor = tuple[dt.date, uuid.UUID]


@dataclass(frozen=True)
class EngagementInvoices:
    engagement_id: uuid.UUID
    set_up: bool
    invoices: list[Invoice]


async def get_invoice(repo: BillingRepository, invoice_id: uuid.UUID) -> Invoice:
    return await invoice(repo, invoice_id, lock=False)


async def batch_get_invoices(
    repo: BillingRepository, ids: Sequence[uuid.UUID]
) -> tuple[list[Invoice], list[uuid.UUID]]:
    """Found invoices in request order, and the ids that do not exist."""
    found = await repo.invoices(ids)
    return [found[i] for i in ids if i in found], [i for i in ids if i not in found]


async def list_invoices(
    repo: BillingRepository,
    *,
    page_size: int,
    after: Cursor | None,
    where: InvoiceFilter,
) -> tuple[list[Invoice], Cursor | None]:
    """Drafts first, then newest issue date first, then id."""
    limit = page_limit(page_size)
    if len(where.legal_entities) > MAX_LEGAL_ENTITIES:
        raise InvalidArgument.one("legal_entities", f"at most {MAX_LEGAL_ENTITIES} entities")
    for i, code in enumerate(where.legal_entities):
        parse_legal_entity(code, f"legal_entities[{i}]")
    if where.legal_entity is not None:
        parse_legal_entity(where.legal_entity, "legal_entity")
    rows, last = split_page(await repo.page(where=where, after=after, limit=limit + 1), limit)
    return rows, (list_date(last), last.id) if last else None


def list_date(found: Invoice) -> dt.date:
    """The listing key: drafts (no issue date yet) sort before every issued invoice."""
    return found.issue_date or dt.date.max


async def invoices_by_engagement(
    repo: BillingRepository, engagement_ids: Sequence[uuid.UUID]
) -> list[EngagementInvoices]:
    """One entry per requested engagement, in request order, empty lists included."""
    set_up = await repo.profiles(engagement_ids)
    invoices = await repo.invoices_of_engagements(engagement_ids)
    return [EngagementInvoices(e, e in set_up, invoices.get(e, [])) for e in engagement_ids]


async def get_unbilled(
    repo: BillingRepository, engagement_id: uuid.UUID
) -> tuple[list[BillableItem], Money]:
    profile = (await repo.profiles([engagement_id])).get(engagement_id)
    if profile is None:
        raise NotFound("engagement", f"{engagement_id} (not set up in billing)")
    items = await repo.unbilled(engagement_id)
    return items, total((i.amount for i in items), profile.currency)


async def get_aging(
    repo: BillingRepository, as_of: dt.date, legal_entity: str | None
) -> list[CurrencyAging]:
    if legal_entity is not None:
        parse_legal_entity(legal_entity, "legal_entity")
    return age(await repo.open_balances(as_of, legal_entity), as_of)
