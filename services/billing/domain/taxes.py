"""Legal entities and the VAT an invoice carries (DESIGN.md §3, Legal entities)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient"
NO_TAX = Decimal(0)
_CODE = re.compile(r"^[A-Z0-9]{2,8}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class LegalEntity:
    code: str
    country: str  # ISO 3166-1 alpha-2
    vat_percent: Decimal  # charged to customers in its own country; 0: no tax on invoices


@dataclass(frozen=True)
class TaxTreatment:
    rate: Decimal  # percent
    note: str


DEFAULT_LEGAL_ENTITIES: Mapping[str, LegalEntity] = {
    e.code: e
    for e in (
        LegalEntity("US01", "US", NO_TAX),
        LegalEntity("UK01", "GB", Decimal(20)),
        LegalEntity("DE01", "DE", Decimal(19)),
    )
}


def tax_treatment(entity: LegalEntity, customer_country: str) -> TaxTreatment:
    """Domestic customers pay the entity's VAT; cross-border ones 0% under reverse charge."""
    if entity.vat_percent == NO_TAX:
        return TaxTreatment(NO_TAX, "")
    if customer_country == entity.country:
        return TaxTreatment(entity.vat_percent, "")
    return TaxTreatment(NO_TAX, REVERSE_CHARGE_NOTE)


def parse_legal_entities(text: str) -> dict[str, LegalEntity]:
    """The defaults, overridden or extended by `CODE:COUNTRY:VAT_PERCENT` entries, e.g.
    "FR01:FR:20,US01:US:0"; raises ValueError naming the malformed entry."""
    entities = dict(DEFAULT_LEGAL_ENTITIES)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        fields = entry.split(":")
        if len(fields) != 3:
            raise ValueError(f"{entry!r} is not CODE:COUNTRY:VAT_PERCENT (e.g. FR01:FR:20)")
        code, country, percent = (f.strip() for f in fields)
        if not _CODE.match(code):
            raise ValueError(f"{entry!r}: the code must be 2-8 upper-case letters or digits")
        if not _COUNTRY.match(country):
            raise ValueError(f"{entry!r}: the country must be ISO 3166-1 alpha-2, e.g. FR")
        try:
            vat = Decimal(percent)
        except InvalidOperation:
            vat = Decimal(-1)
        if not vat.is_finite() or not 0 <= vat < 100:
            raise ValueError(f"{entry!r}: the VAT percent must be a number from 0 to below 100")
        entities[code] = LegalEntity(code, country, vat)
    return entities
