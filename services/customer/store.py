"""All SQL of the customer service (asyncpg), behind the CustomerRepository protocol."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from mesh.events.outbox import add_event
from services.customer import convert
from services.customer.domain.billing import BillingContact, PostalAddress
from services.customer.domain.model import Customer, CustomerEvent, ExternalRef, MatchRule

_SELECT = """
SELECT c.id, c.name, c.country, c.domain, c.tax_id, c.merged_into, c.version,
       c.created_at, c.updated_at, c.billing_contact, c.billing_address,
       coalesce((SELECT array_agg(ARRAY[r.system, r.external_id] ORDER BY r.system, r.external_id)
                   FROM external_refs r WHERE r.customer_id = c.id), '{}') AS refs,
       coalesce((SELECT array_agg(a.id ORDER BY a.id)
                   FROM customers a WHERE a.merged_into = c.id), '{}') AS aliases
  FROM customers c
"""

# Oldest first, so a rule that matches several customers always picks the same one.
_FIND = {
    MatchRule.TAX_ID: "c.tax_id = $1 AND c.country = $2",
    MatchRule.DOMAIN: "c.domain = $1",
    MatchRule.NAME: "c.normalized_name = $1 AND c.country = $2",
}

# Any fixed key will do: only the create path of ResolveCustomer takes it.
_RESOLUTION_LOCK = 0x63757374  # "cust"


def _customer(row: asyncpg.Record) -> Customer:
    return Customer(
        id=row["id"],
        name=row["name"],
        country=row["country"],
        domain=row["domain"],
        tax_id=row["tax_id"],
        external_refs=[ExternalRef(system, ref_id) for system, ref_id in row["refs"]],
        merged_into=row["merged_into"],
        merged_ids=list(row["aliases"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        billing_contact=_contact(row["billing_contact"]),
        billing_address=_address(row["billing_address"]),
    )


def _contact(fields: dict[str, str] | None) -> BillingContact | None:
    return BillingContact(**fields) if fields else None


def _address(fields: dict[str, Any] | None) -> PostalAddress | None:
    return PostalAddress(**{**fields, "lines": tuple(fields["lines"])}) if fields else None


def _json(value: BillingContact | PostalAddress | None) -> dict[str, Any] | None:
    """jsonb (the kit's codec encodes it)."""
    return dataclasses.asdict(value) if value is not None else None


class CustomerStore:
    """A repository bound to one connection inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
        lock = " FOR UPDATE OF c" if for_update else ""
        row = await self.conn.fetchrow(f"{_SELECT} WHERE c.id = $1{lock}", customer_id)
        return _customer(row) if row else None

    async def get_many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
        rows = await self.conn.fetch(f"{_SELECT} WHERE c.id = ANY($1::uuid[])", list(set(ids)))
        return {row["id"]: _customer(row) for row in rows}

    async def find(self, rule: MatchRule, key: tuple[str, ...]) -> Customer | None:
        if rule is MatchRule.EXTERNAL_REF:
            row = await self.conn.fetchrow(
                f"""{_SELECT} JOIN external_refs x ON x.customer_id = c.id
                    WHERE x.system = $1 AND x.external_id = $2""",
                *key,
            )
            if row is None:
                return None
            found = _customer(row)
            # Refs move on merge, but follow an alias anyway rather than trust that alone.
            return await self.get(found.merged_into) if found.merged_into else found
        row = await self.conn.fetchrow(
            f"{_SELECT} WHERE c.merged_into IS NULL AND {_FIND[rule]}"
            " ORDER BY c.created_at, c.id LIMIT 1",
            *key,
        )
        return _customer(row) if row else None

    async def add(self, customer: Customer) -> None:
        await self.conn.execute(
            """INSERT INTO customers (id, name, normalized_name, country, domain, tax_id,
                                      version, created_at, updated_at, billing_contact,
                                      billing_address)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            customer.id,
            customer.name,
            customer.normalized_name,
            customer.country,
            customer.domain,
            customer.tax_id,
            customer.version,
            customer.created_at,
            customer.updated_at,
            _json(customer.billing_contact),
            _json(customer.billing_address),
        )
        for ref in customer.external_refs:
            await self.link_ref(customer.id, ref)

    async def update(self, customer: Customer) -> None:
        await self.conn.execute(
            """UPDATE customers SET name = $2, normalized_name = $3, country = $4, domain = $5,
                      tax_id = $6, merged_into = $7, version = $8, updated_at = $9,
                      billing_contact = $10, billing_address = $11
                WHERE id = $1""",
            customer.id,
            customer.name,
            customer.normalized_name,
            customer.country,
            customer.domain,
            customer.tax_id,
            customer.merged_into,
            customer.version,
            customer.updated_at,
            _json(customer.billing_contact),
            _json(customer.billing_address),
        )

    async def link_ref(self, customer_id: uuid.UUID, ref: ExternalRef) -> None:
        await self.conn.execute(
            "INSERT INTO external_refs (system, external_id, customer_id) VALUES ($1, $2, $3)",
            ref.system,
            ref.id,
            customer_id,
        )

    async def absorb(self, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> None:
        await self.conn.execute(
            "UPDATE external_refs SET customer_id = $1 WHERE customer_id = $2",
            survivor_id,
            merged_id,
        )
        # Earlier aliases of the merged customer now point straight at the survivor: one hop.
        await self.conn.execute(
            "UPDATE customers SET merged_into = $1 WHERE merged_into = $2", survivor_id, merged_id
        )

    async def lock_resolution(self) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", _RESOLUTION_LOCK)

    async def page(
        self, *, after: tuple[str, uuid.UUID] | None, limit: int, search: str | None
    ) -> list[Customer]:
        after_name, after_id = after if after else (None, None)
        rows = await self.conn.fetch(
            f"""{_SELECT}
                WHERE c.merged_into IS NULL
                  AND ($1::text IS NULL OR (c.normalized_name, c.id) > ($1, $2::uuid))
                  AND ($3::text IS NULL
                       OR c.name ILIKE '%' || $3 || '%' ESCAPE '\\'
                       OR c.domain ILIKE '%' || $3 || '%' ESCAPE '\\'
                       OR c.tax_id ILIKE '%' || $3 || '%' ESCAPE '\\')
                ORDER BY c.normalized_name, c.id
                LIMIT $4""",
            after_name,
            after_id,
            _escape_like(search) if search else None,
            limit,
        )
        return [_customer(row) for row in rows]

    async def emit(self, event: CustomerEvent) -> None:
        subject, aggregate, message = convert.to_message(event)
        await add_event(
            self.conn,
            source="customer",
            subject=subject,
            aggregate_id=str(aggregate.id),
            aggregate_version=aggregate.version,
            message=message,
        )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
