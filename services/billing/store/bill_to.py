"""The customer's billing contact and address as jsonb (the kit's codec encodes it): in the
replica's customers, and on an issued invoice as its bill-to."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from services.billing.domain.model import BillingContact, BillTo, PostalAddress


def contact_json(contact: BillingContact | None) -> dict[str, Any] | None:
    return dataclasses.asdict(contact) if contact else None


def address_json(address: PostalAddress | None) -> dict[str, Any] | None:
    return dataclasses.asdict(address) if address else None


def contact_of(found: dict[str, Any] | None) -> BillingContact | None:
    return BillingContact(**found) if found else None


def address_of(found: dict[str, Any] | None) -> PostalAddress | None:
    return PostalAddress(**{**found, "lines": tuple(found["lines"])}) if found else None


def bill_to_json(b: BillTo | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {
        "customer_id": str(b.customer_id),
        "name": b.name,
        "country": b.country,
        "tax_id": b.tax_id,
        "contact": contact_json(b.contact),
        "address": address_json(b.address),
    }


def bill_to_of(found: dict[str, Any] | None) -> BillTo | None:
    if not found:
        return None
    return BillTo(
        uuid.UUID(found["customer_id"]),
        found["name"],
        found["country"],
        found["tax_id"],
        contact=contact_of(found["contact"]),
        address=address_of(found["address"]),
    )
