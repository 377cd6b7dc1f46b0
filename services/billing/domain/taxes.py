"""Legal entities and the VAT an invoice carries (DESIGN.md §3, Legal entities)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient"
# Between two member states the invoice must cite the rule (Art. 226(11a) of the directive).
EU_REVERSE_CHARGE_NOTE = f"{REVERSE_CHARGE_NOTE}, Art. 196 Council Directive 2006/112/EC"
EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip
NO_TAX = Decimal(0)


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
    if {entity.country, customer_country} <= EU_MEMBER_STATES:
        return TaxTreatment(NO_TAX, EU_REVERSE_CHARGE_NOTE)
    return TaxTreatment(NO_TAX, REVERSE_CHARGE_NOTE)


def legal_entities(configured: Iterable[LegalEntity]) -> dict[str, LegalEntity]:
    """The defaults, overridden or extended by the configured entities (settings)."""
    return {**DEFAULT_LEGAL_ENTITIES, **{e.code: e for e in configured}}
