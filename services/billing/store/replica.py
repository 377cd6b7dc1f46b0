"""SQL of billing's replica (engagements' billing profiles, customers) and billable items."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from mesh.money import Money
from services.billing.domain.model import (
    BillableItem,
    BillingModel,
    BillingProfile,
    BillTo,
    ItemKind,
    ScheduledMilestone,
)
from services.billing.store.bill_to import address_json, address_of, contact_json, contact_of
from services.billing.store.rows import Rows

ITEM_COLUMNS = (
    "i.kind, i.source_id, i.engagement_id, i.service_date, i.description, i.quantity,"
    " i.unit_price, i.amount, i.currency"
)
# An id as the replica knows it: a merged customer's survivor, else itself.
_SURVIVOR = "coalesce((SELECT a.survivor_id FROM customer_aliases a WHERE a.merged_id = {0}), {0})"


def item_from_row(row: asyncpg.Record) -> BillableItem:
    currency = row["currency"]
    return BillableItem(
        kind=ItemKind(row["kind"]),
        source_id=row["source_id"],
        engagement_id=row["engagement_id"],
        service_date=row["service_date"],
        description=row["description"],
        quantity=row["quantity"],
        unit_price=Money(row["unit_price"], currency),
        amount=Money(row["amount"], currency),
    )


def _profile(row: asyncpg.Record) -> BillingProfile:
    currency = row["currency"]
    return BillingProfile(
        engagement_id=row["id"],
        code=row["code"],
        name=row["name"],
        legal_entity=row["legal_entity"],
        currency=currency,
        billing_model=BillingModel(row["billing_model"]),
        customer_id=row["customer_id"],
        payment_terms_days=row["payment_terms_days"],
        expense_markup_percent=row["expense_markup_percent"],
        milestones=tuple(
            ScheduledMilestone(
                id=m["id"],
                name=m["name"],
                amount=Money(Decimal(m["amount"]), currency),
                due_date=dt.date.fromisoformat(m["due_date"]) if m["due_date"] else None,
            )
            for m in row["milestones"]
        ),
        version=row["version"],
        purchase_order_number=row["purchase_order_number"],
    )


def _schedule(profile: BillingProfile) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "name": m.name,
            "amount": str(m.amount.amount),
            "due_date": m.due_date.isoformat() if m.due_date else None,
        }
        for m in profile.milestones
    ]


class ReplicaRows(Rows):
    async def profiles(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BillingProfile]:
        rows = await self.conn.fetch(
            "SELECT * FROM engagements WHERE id = ANY($1::uuid[])", list(set(ids))
        )
        return {row["id"]: _profile(row) for row in rows}

    async def bill_to(self, engagement_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BillTo]:
        """Each engagement's customer, following merges to the survivor."""
        rows = await self.conn.fetch(
            f"""SELECT e.id AS engagement_id, c.*
                  FROM engagements e
                  JOIN customers c ON c.id = {_SURVIVOR.format("e.customer_id")}
                 WHERE e.id = ANY($1::uuid[])""",
            list(set(engagement_ids)),
        )
        return {
            row["engagement_id"]: BillTo(
                row["id"],
                row["name"],
                row["country"],
                row["tax_id"],
                row["version"],
                contact_of(row["contact"]),
                address_of(row["address"]),
            )
            for row in rows
        }

    async def upsert_profile(self, profile: BillingProfile) -> None:
        """Insert, or replace with a newer version; an older or equal version changes nothing."""
        await self.conn.execute(
            f"""INSERT INTO engagements AS e (id, code, name, legal_entity, currency,
                       billing_model, customer_id, payment_terms_days, expense_markup_percent,
                       milestones, version, purchase_order_number)
                VALUES ($1, $2, $3, $4, $5, $6, {_SURVIVOR.format("$7::uuid")}, $8, $9, $10, $11,
                        $12)
                ON CONFLICT (id) DO UPDATE
                   SET code = excluded.code, name = excluded.name,
                       legal_entity = excluded.legal_entity, currency = excluded.currency,
                       billing_model = excluded.billing_model, customer_id = excluded.customer_id,
                       payment_terms_days = excluded.payment_terms_days,
                       expense_markup_percent = excluded.expense_markup_percent,
                       milestones = excluded.milestones, version = excluded.version,
                       purchase_order_number = excluded.purchase_order_number,
                       updated_at = now()
                 WHERE e.version < excluded.version""",
            profile.engagement_id,
            profile.code,
            profile.name,
            profile.legal_entity,
            profile.currency,
            profile.billing_model.value,
            profile.customer_id,
            profile.payment_terms_days,
            profile.expense_markup_percent,
            _schedule(profile),
            profile.version,
            profile.purchase_order_number,
        )

    async def set_purchase_order_number(
        self, engagement_id: uuid.UUID, version: int, number: str
    ) -> None:
        """Only over an older version: a late or repeated event changes nothing."""
        await self.conn.execute(
            """UPDATE engagements SET purchase_order_number = $3, version = $2, updated_at = now()
                WHERE id = $1 AND version < $2""",
            engagement_id,
            version,
            number,
        )

    async def put_customer(self, customer: BillTo) -> None:
        """Insert, or replace with a newer version. The snapshot of an engagement (version 0)
        only fills a gap; any CUSTOMER event wins over it."""
        await self.conn.execute(
            """INSERT INTO customers AS c (id, name, country, tax_id, version, contact, address)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (id) DO UPDATE
                  SET name = excluded.name, country = excluded.country,
                      tax_id = excluded.tax_id, version = excluded.version,
                      contact = excluded.contact, address = excluded.address
                WHERE c.version < excluded.version""",
            customer.customer_id,
            customer.name,
            customer.country,
            customer.tax_id,
            customer.version,
            contact_json(customer.contact),
            address_json(customer.address),
        )

    async def merge_customer(self, merged_id: uuid.UUID, survivor: BillTo) -> None:
        """merged_id becomes an alias of the survivor; whatever pointed at it points on."""
        await self.put_customer(survivor)
        # In whichever order merges arrive, an alias points at the final survivor: one hop.
        await self.conn.execute(
            f"""INSERT INTO customer_aliases (merged_id, survivor_id)
                VALUES ($1, {_SURVIVOR.format("$2::uuid")})
                ON CONFLICT (merged_id) DO UPDATE SET survivor_id = excluded.survivor_id""",
            merged_id,
            survivor.customer_id,
        )
        await self.conn.execute(
            "UPDATE customer_aliases SET survivor_id = $2 WHERE survivor_id = $1",
            merged_id,
            survivor.customer_id,
        )
        await self.conn.execute(
            "UPDATE engagements SET customer_id = $2, updated_at = now() WHERE customer_id = $1",
            merged_id,
            survivor.customer_id,
        )
        await self.conn.execute(
            """UPDATE invoices SET customer_id = $2, version = version + 1, updated_at = now()
                WHERE customer_id = $1 AND status = 'DRAFT'""",
            merged_id,
            survivor.customer_id,
        )

    async def add_items(self, items: Sequence[BillableItem]) -> None:
        """Set-based; an item whose source is already known is skipped (redeliveries)."""
        if not items:
            return
        await self.conn.execute(
            """INSERT INTO billable_items (engagement_id, kind, source_id, service_date,
                       description, quantity, unit_price, amount, currency)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::text[],
                                    $6::numeric[], $7::numeric[], $8::numeric[], $9::text[])
               ON CONFLICT (kind, source_id) DO NOTHING""",
            [i.engagement_id for i in items],
            [i.kind.value for i in items],
            [i.source_id for i in items],
            [i.service_date for i in items],
            [i.description for i in items],
            [i.quantity for i in items],
            [i.unit_price.amount for i in items],
            [i.amount.amount for i in items],
            [i.amount.currency for i in items],
        )
