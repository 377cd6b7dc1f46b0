"""Legal entities and the VAT an invoice carries (DESIGN.md §3, Legal entities)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES as DEFAULT_LEGAL_ENTITIES
from mesh.legal_entities import LegalEntitySetting

# The shared configuration (WEFTWORK_LEGAL_ENTITIES) is billing's legal entity.
LegalEntity = LegalEntitySetting
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
class TaxTreatment:
    rate: Decimal  # percent
    note: str


def tax_treatment(entity: LegalEntity, customer_country: str) -> TaxTreatment:
    """Domestic customers pay the entity's VAT; cross-border ones 0% with the note where the
    entity's reverse-charge rule applies, else the entity's VAT as well."""
    if entity.vat_percent == NO_TAX:
        return TaxTreatment(NO_TAX, "")
    if customer_country == entity.country or not entity.reverse_charge:
        return TaxTreatment(entity.vat_percent, "")
    if {entity.country, customer_country} <= EU_MEMBER_STATES:
        return TaxTreatment(NO_TAX, EU_REVERSE_CHARGE_NOTE)
    return TaxTreatment(NO_TAX, REVERSE_CHARGE_NOTE)


def legal_entities(configured: Mapping[str, LegalEntity]) -> dict[str, LegalEntity]:
    """The configured entities by code (settings.legal_entities: the defaults when unset)."""
    return dict(configured)
