"""In-memory CustomerRepository for unit tests of the customer rules (no I/O)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence

from services.customer.domain import identity
from services.customer.domain.model import Customer, CustomerEvent, ExternalRef, MatchRule


class FakeCustomerRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Customer] = {}
        self.refs: dict[ExternalRef, uuid.UUID] = {}
        self.events: list[CustomerEvent] = []

    def _view(self, row: Customer) -> Customer:
        view = copy.deepcopy(row)
        view.external_refs = sorted(r for r, owner in self.refs.items() if owner == row.id)
        view.merged_ids = sorted(c.id for c in self.rows.values() if c.merged_into == row.id)
        return view

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
        row = self.rows.get(customer_id)
        return self._view(row) if row else None

    async def get_many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
        return {i: self._view(self.rows[i]) for i in ids if i in self.rows}

    async def find(self, rule: MatchRule, key: tuple[str, ...]) -> Customer | None:
        if rule is MatchRule.EXTERNAL_REF:
            owner = self.refs.get(ExternalRef(*key))
            return await self.get(owner) if owner else None
        live = sorted(
            (c for c in self.rows.values() if c.merged_into is None),
            key=lambda c: (c.created_at, c.id),
        )
        for c in live:
            if (
                (rule is MatchRule.TAX_ID and (c.tax_id, c.country) == key)
                or (rule is MatchRule.DOMAIN and (c.domain,) == key)
                or (rule is MatchRule.NAME and (identity.normalize_name(c.name), c.country) == key)
            ):
                return self._view(c)
        return None

    async def add(self, customer: Customer) -> None:
        self.rows[customer.id] = copy.deepcopy(customer)
        for ref in customer.external_refs:
            await self.link_ref(customer.id, ref)

    async def update(self, customer: Customer) -> None:
        assert customer.id in self.rows
        self.rows[customer.id] = copy.deepcopy(customer)

    async def link_ref(self, customer_id: uuid.UUID, ref: ExternalRef) -> None:
        assert ref not in self.refs, "primary key violation"
        self.refs[ref] = customer_id

    async def absorb(self, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> None:
        for ref, owner in list(self.refs.items()):
            if owner == merged_id:
                self.refs[ref] = survivor_id
        for row in self.rows.values():
            if row.merged_into == merged_id:
                row.merged_into = survivor_id

    async def lock_resolution(self) -> None:
        return None

    async def page(
        self, *, after: tuple[str, uuid.UUID] | None, limit: int, search: str | None
    ) -> list[Customer]:
        live = sorted(
            (c for c in self.rows.values() if c.merged_into is None),
            key=lambda c: (c.normalized_name, c.id),
        )
        if after:
            live = [c for c in live if (c.normalized_name, c.id) > after]
        if search:
            live = [c for c in live if search.lower() in c.name.lower()]
        return [self._view(c) for c in live[:limit]]

    async def emit(self, event: CustomerEvent) -> None:
        self.events.append(event)
