"""Customer use cases: resolve, read, update, link and merge. Each runs in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mesh.errors import FailedPrecondition, InvalidArgument, NotFound, Violations
from mesh.paging import page_limit, split_page
from services.customer.domain import identity
from services.customer.domain.billing import check_address, check_contact
from services.customer.domain.model import (
    AccountFacts,
    AddressInput,
    BillingInput,
    Customer,
    CustomerCreated,
    CustomerEvent,
    CustomerMerged,
    CustomerUpdated,
    ExternalRef,
    MatchRule,
    check_merge,
)

T = TypeVar("T")


class CustomerRepository(Protocol):
    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None: ...
    async def get_many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]: ...
    async def find(self, rule: MatchRule, key: tuple[str, ...]) -> Customer | None: ...
    async def add(self, customer: Customer) -> None: ...
    async def update(self, customer: Customer) -> None: ...
    async def link_ref(self, customer_id: uuid.UUID, ref: ExternalRef) -> None: ...
    async def absorb(self, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> None: ...
    async def lock_resolution(self) -> None: ...
    async def page(
        self, *, after: tuple[str, uuid.UUID] | None, limit: int, search: str | None
    ) -> list[Customer]: ...
    async def emit(self, event: CustomerEvent) -> None: ...


Transact = Callable[[Callable[[CustomerRepository], Awaitable[T]]], Awaitable[T]]


@dataclass(frozen=True)
class Resolution:
    customer: Customer
    matched_by: MatchRule

    @property
    def created(self) -> bool:
        return self.matched_by is MatchRule.CREATED


async def resolve_customer(repo: CustomerRepository, facts: AccountFacts) -> Resolution:
    """DESIGN.md §3: external ref, tax id + country, domain, name + country; else create."""
    keys = facts.match_keys()
    if facts.external_ref is not None:
        # A known ref is the common case and needs no lock.
        known = await repo.find(*keys[0])
        if known is not None:
            await _take_billing(repo, known, facts)
            return Resolution(known, MatchRule.EXTERNAL_REF)
    # Serialize the match-or-create step, so two concurrent first sightings create one customer.
    await repo.lock_resolution()
    for rule, key in keys:
        found = await repo.find(rule, key)
        if found is None:
            continue
        if facts.external_ref is not None and facts.external_ref not in found.external_refs:
            await _link(repo, found, facts.external_ref)
        await _take_billing(repo, found, facts)
        return Resolution(found, rule)
    customer = Customer(
        id=uuid.uuid4(),
        name=facts.name,
        country=facts.country,
        domain=facts.domain,
        tax_id=facts.tax_id,
        external_refs=[facts.external_ref] if facts.external_ref else [],
        billing_contact=facts.billing_contact,
        billing_address=facts.billing_address,
    )
    await repo.add(customer)
    await repo.emit(CustomerCreated(customer))
    return Resolution(customer, MatchRule.CREATED)


async def _take_billing(repo: CustomerRepository, customer: Customer, facts: AccountFacts) -> None:
    """The deal's billing contact and address, when it states them, replace the customer's."""
    contact = facts.billing_contact or customer.billing_contact
    address = facts.billing_address or customer.billing_address
    if (contact, address) == (customer.billing_contact, customer.billing_address):
        return
    locked = await get_customer(repo, customer.id, for_update=True)
    locked.billing_contact, locked.billing_address = contact, address
    locked.touch()
    await repo.update(locked)
    await repo.emit(CustomerUpdated(locked))
    customer.billing_contact, customer.billing_address = contact, address
    customer.version, customer.updated_at = locked.version, locked.updated_at


async def _link(repo: CustomerRepository, customer: Customer, ref: ExternalRef) -> None:
    await repo.link_ref(customer.id, ref)
    customer.external_refs.append(ref)
    customer.touch()
    await repo.update(customer)
    await repo.emit(CustomerUpdated(customer))


async def get_customer(
    repo: CustomerRepository, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer:
    """The customer, following a merge to its survivor."""
    customer = await repo.get(customer_id, for_update=for_update)
    if customer is None:
        raise NotFound("customer", str(customer_id))
    if customer.merged_into is not None:
        survivor = await repo.get(customer.merged_into, for_update=for_update)
        assert survivor is not None, "merged_into always points at an existing survivor"
        return survivor
    return customer


async def batch_get_customers(
    repo: CustomerRepository, ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, Customer], list[uuid.UUID]]:
    """Survivors keyed by the requested id, and the ids that do not exist."""
    rows = await repo.get_many(ids)
    aliases = [c.merged_into for c in rows.values() if c.merged_into is not None]
    survivors = await repo.get_many(aliases) if aliases else {}
    found: dict[uuid.UUID, Customer] = {}
    for requested in ids:
        row = rows.get(requested)
        if row is not None:
            found[requested] = survivors[row.merged_into] if row.merged_into else row
    return found, [i for i in ids if i not in found]


async def list_customers(
    repo: CustomerRepository, *, page_size: int, after: tuple[str, uuid.UUID] | None, search: str
) -> tuple[list[Customer], tuple[str, uuid.UUID] | None]:
    limit = page_limit(page_size)
    if len(search) > identity.MAX_NAME:
        raise InvalidArgument.one("search", f"must be at most {identity.MAX_NAME} characters")
    rows = await repo.page(after=after, limit=limit + 1, search=search.strip() or None)
    page, last = split_page(rows, limit)
    return page, (last.normalized_name, last.id) if last else None


@dataclass(frozen=True)
class CustomerChanges:
    name: str | None = None
    domain: str | None = None
    tax_id: str | None = None
    country: str | None = None
    billing_contact: BillingInput | None = None  # given: replaces; empty parts: clears
    billing_address: AddressInput | None = None


async def update_customer(
    repo: CustomerRepository, customer_id: uuid.UUID, changes: CustomerChanges
) -> Customer:
    errors, c = Violations(), changes
    name = identity.check_name(c.name, "name", errors) if c.name is not None else None
    country = None
    if c.country is not None:
        country = identity.check_country(c.country, "country", errors)
    domain = identity.check_domain(c.domain, "domain", errors) if c.domain is not None else None
    tax_id = identity.check_tax_id(c.tax_id, "tax_id", errors) if c.tax_id is not None else None
    contact, address = None, None
    if c.billing_contact is not None:
        contact = check_contact(*c.billing_contact, "billing_contact", errors)
    if c.billing_address is not None:
        address = check_address(*c.billing_address, "billing_address", errors)
    errors.raise_if_any()
    customer = await get_customer(repo, customer_id, for_update=True)
    before = _facts(customer)
    customer.name = name if name is not None else customer.name
    customer.country = country if country is not None else customer.country
    # An empty string clears the optional facts.
    customer.domain = domain if changes.domain is not None else customer.domain
    customer.tax_id = tax_id if changes.tax_id is not None else customer.tax_id
    if changes.billing_contact is not None:
        customer.billing_contact = contact
    if changes.billing_address is not None:
        customer.billing_address = address
    if _facts(customer) == before:
        return customer
    customer.touch()
    await repo.update(customer)
    await repo.emit(CustomerUpdated(customer))
    return customer


def _facts(c: Customer) -> tuple[object, ...]:
    return (c.name, c.country, c.domain, c.tax_id, c.billing_contact, c.billing_address)


async def link_external_ref(
    repo: CustomerRepository, customer_id: uuid.UUID, ref: ExternalRef
) -> Customer:
    errors = Violations()
    identity.check_external_ref(ref.system, ref.id, "external_ref", errors)
    errors.raise_if_any()
    customer = await get_customer(repo, customer_id, for_update=True)
    holder = await repo.find(MatchRule.EXTERNAL_REF, (ref.system, ref.id))
    if holder is not None and holder.id == customer.id:
        return customer
    if holder is not None:
        raise FailedPrecondition(f"{ref.system}:{ref.id} already belongs to customer {holder.id}")
    await _link(repo, customer, ref)
    return customer


async def merge_customers(
    repo: CustomerRepository, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> Customer:
    """Refs move to the survivor; the merged id stays an alias that every lookup follows."""
    # Lock both rows in a fixed order so concurrent merges cannot deadlock.
    locked: dict[uuid.UUID, Customer] = {}
    for customer_id in sorted((survivor_id, merged_id)):
        row = await repo.get(customer_id, for_update=True)
        if row is None:
            field = "survivor_id" if customer_id == survivor_id else "merged_id"
            raise NotFound("customer", f"{customer_id} ({field})")
        locked[customer_id] = row
    survivor, merged = locked[survivor_id], locked[merged_id]
    if not check_merge(survivor, merged):
        return survivor
    await repo.absorb(survivor.id, merged.id)
    survivor.external_refs = sorted({*survivor.external_refs, *merged.external_refs})
    survivor.merged_ids = [*survivor.merged_ids, merged.id, *merged.merged_ids]
    survivor.touch()
    merged.merged_into = survivor.id
    merged.touch()
    await repo.update(merged)
    await repo.update(survivor)
    await repo.emit(CustomerMerged(survivor, merged.id))
    return survivor
