"""Legal entities as every service spells and configures them (DESIGN.md §3, §9): the one
code rule, and the CODE:COUNTRY:VAT_PERCENT entries a deployment adds to the defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

LEGAL_ENTITY_CODE = re.compile(r"^[A-Z0-9]{2,8}$")  # e.g. UK01
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class LegalEntitySetting:
    """One configured entity (billing keeps the defaults US01, UK01 and DE01)."""

    code: str
    country: str  # ISO 3166-1 alpha-2
    vat_percent: Decimal  # charged to customers in its own country; 0: no tax on invoices
    # What its invoices print (DESIGN.md §9); an entity added by configuration shows its code.
    name: str = ""
    address: tuple[str, ...] = ()
    vat_id: str = ""


DEFAULT_LEGAL_ENTITIES = {
    e.code: e
    for e in (
        LegalEntitySetting(
            "US01",
            "US",
            Decimal(0),
            "Weftwork Consulting Inc.",
            ("350 Fifth Avenue, Suite 4100", "New York, NY 10118", "United States"),
            "EIN 84-1234567",
        ),
        LegalEntitySetting(
            "UK01",
            "GB",
            Decimal(20),
            "Weftwork Consulting Ltd",
            ("1 Finsbury Avenue", "London EC2M 2PF", "United Kingdom"),
            "GB123456789",
        ),
        LegalEntitySetting(
            "DE01",
            "DE",
            Decimal(19),
            "Weftwork Consulting GmbH",
            ("Friedrichstraße 68", "10117 Berlin", "Germany"),
            "DE123456789",
        ),
    )
}


def parse_legal_entities(text: str) -> dict[str, LegalEntitySetting]:
    """Comma-separated CODE:COUNTRY:VAT_PERCENT entries, e.g. "FR01:FR:20,US01:US:0"; raises
    ValueError naming the malformed entry."""
    found: dict[str, LegalEntitySetting] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        fields = [f.strip() for f in entry.split(":")]
        if len(fields) != 3:
            raise ValueError(f"{entry!r} is not CODE:COUNTRY:VAT_PERCENT (e.g. FR01:FR:20)")
        code, country, percent = fields
        if not LEGAL_ENTITY_CODE.match(code):
            raise ValueError(f"{entry!r}: the code must be 2-8 upper-case letters or digits")
        if not _COUNTRY.match(country):
            raise ValueError(f"{entry!r}: the country must be ISO 3166-1 alpha-2, e.g. FR")
        try:
            vat = Decimal(percent)
        except InvalidOperation:
            vat = Decimal(-1)
        if not vat.is_finite() or not 0 <= vat < 100:
            raise ValueError(f"{entry!r}: the VAT percent must be a number from 0 to below 100")
        found[code] = LegalEntitySetting(code, country, vat)
    return found


def parse_entity_codes(text: str) -> frozenset[str]:
    """Comma-separated legal entity codes, e.g. "UK01,DE01" (entities whose new engagements
    wait for commercial approval); raises ValueError naming the malformed code."""
    codes = frozenset(filter(None, (part.strip() for part in text.split(","))))
    for code in sorted(codes):
        if not LEGAL_ENTITY_CODE.match(code):
            raise ValueError(f"{code!r}: a code is 2-8 upper-case letters or digits, e.g. UK01")
    return codes
