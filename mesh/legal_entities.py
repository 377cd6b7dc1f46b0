"""Legal entities, one configuration for every service (DESIGN.md §3, §9): the one code rule,
the defaults, and WEFTWORK_LEGAL_ENTITIES (a JSON array, or `@path` of a file holding one)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from mesh.envparse import inline_or_file

LEGAL_ENTITY_CODE = re.compile(r"^[A-Z0-9]{2,8}$")  # e.g. UK01
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# The journal's accounts (DESIGN.md §3; revenue's Account enum, kept equal by a unit test).
ACCOUNTS = (
    "cash",
    "receivables",
    "unbilled_receivable",
    "deferred_revenue",
    "tax_payable",
    "revenue",
)
_ACCOUNT_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-:]{0,31}$")
MAX_ENTITIES = 100
REQUIRED = ("code", "name", "country", "currencies", "vat_percent", "reverse_charge")
OPTIONAL = ("address", "vat_id", "approval_required", "accounts")


@dataclass(frozen=True)
class LegalEntitySetting:
    """One legal entity of the firm, as every service and the gateway know it."""

    code: str  # e.g. DE01
    name: str  # the legal name printed on invoices
    country: str  # ISO 3166-1 alpha-2
    address: tuple[str, ...]  # postal address lines
    vat_id: str  # may be empty (e.g. a US entity)
    currencies: tuple[str, ...]  # ISO 4217 it may contract in; the first is its default
    vat_percent: Decimal  # charged to customers in its own country; 0: no tax on invoices
    reverse_charge: bool  # cross-border B2B invoices carry 0% tax and the reverse-charge note
    approval_required: bool = False  # close-won waits PENDING_APPROVAL (approveEngagement)
    # Our account name (e.g. "revenue") -> the entity's ERP account code; unmapped: our code.
    accounts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def currency(self) -> str:
        """The default currency of its engagements."""
        return self.currencies[0]


DEFAULT_LEGAL_ENTITIES: Mapping[str, LegalEntitySetting] = MappingProxyType(
    {
        e.code: e
        for e in (
            LegalEntitySetting(
                "US01",
                "Weftwork Consulting Inc.",
                "US",
                ("350 Fifth Avenue, Suite 4100", "New York, NY 10118", "United States"),
                "",
                ("USD", "EUR", "GBP", "CHF"),
                Decimal(0),
                False,
            ),
            LegalEntitySetting(
                "UK01",
                "Weftwork Consulting Ltd",
                "GB",
                ("1 Finsbury Avenue", "London EC2M 2PF", "United Kingdom"),
                "GB123456789",
                ("GBP", "EUR", "USD", "CHF"),
                Decimal(20),
                True,
            ),
            LegalEntitySetting(
                "DE01",
                "Weftwork Consulting GmbH",
                "DE",
                ("Friedrichstraße 68", "10117 Berlin", "Germany"),
                "DE123456789",
                ("EUR", "USD", "GBP", "CHF"),
                Decimal(19),
                True,
            ),
        )
    }
)


def load_legal_entities(text: str) -> Mapping[str, LegalEntitySetting]:
    """WEFTWORK_LEGAL_ENTITIES: unset or empty -> the defaults; `@/path/file.json` -> that file's
    content; anything else is the JSON itself. The JSON is the complete list (the defaults are
    not merged in). Raises ValueError naming the entity and the field."""
    if not text.strip():
        return DEFAULT_LEGAL_ENTITIES
    return parse_legal_entities(inline_or_file(text))


def parse_legal_entities(text: str) -> Mapping[str, LegalEntitySetting]:
    """A JSON array of entity objects (see docs/finance.md); ValueError names what is wrong."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise ValueError("must be a non-empty JSON array of legal entity objects")
    if len(data) > MAX_ENTITIES:
        raise ValueError(f"at most {MAX_ENTITIES} legal entities")
    found: dict[str, LegalEntitySetting] = {}
    for index, raw in enumerate(data):
        entity = _entity(raw, index)
        if entity.code in found:
            raise ValueError(f"legal entity {entity.code} is configured twice")
        found[entity.code] = entity
    return MappingProxyType(found)


def _entity(raw: Any, index: int) -> LegalEntitySetting:
    if not isinstance(raw, dict):
        raise ValueError(f"entry {index} must be a JSON object")
    code = raw.get("code")
    if not isinstance(code, str) or not LEGAL_ENTITY_CODE.match(code):
        raise ValueError(f"entry {index}: code must be 2-8 upper-case letters or digits, e.g. FR01")

    def bad(name: str, rule: str) -> ValueError:
        return ValueError(f"legal entity {code}: {name} {rule}")

    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise bad(unknown[0], "is not a known field; they are " + ", ".join(REQUIRED + OPTIONAL))
    missing = [name for name in REQUIRED if raw.get(name) is None]
    if missing:
        raise bad(missing[0], "is missing (required: " + ", ".join(REQUIRED) + ")")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise bad("name", "must be a non-empty string of at most 200 characters")
    country = raw["country"]
    if not isinstance(country, str) or not _COUNTRY.match(country):
        raise bad("country", "must be ISO 3166-1 alpha-2 in upper case, e.g. FR")
    currencies = raw["currencies"]
    if (
        not isinstance(currencies, list)
        or not currencies
        or not all(isinstance(c, str) and _CURRENCY.match(c) for c in currencies)
        or len(set(currencies)) != len(currencies)
    ):
        raise bad("currencies", "must be a non-empty list of distinct ISO 4217 codes, e.g. EUR")
    return LegalEntitySetting(
        code=code,
        name=name.strip(),
        country=country,
        address=_address(raw.get("address", []), bad),
        vat_id=_vat_id(raw.get("vat_id", ""), bad),
        currencies=tuple(currencies),
        vat_percent=_percent(raw["vat_percent"], bad),
        reverse_charge=_flag(raw["reverse_charge"], "reverse_charge", bad),
        approval_required=_flag(raw.get("approval_required", False), "approval_required", bad),
        accounts=_accounts(raw.get("accounts", {}), bad),
    )


def _address(value: Any, bad: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad("address", "must be a list of strings (the lines)")
    if len(value) > 8 or any(len(v) > 200 for v in value):
        raise bad("address", "has at most 8 lines of at most 200 characters")
    return tuple(v.strip() for v in value)


def _vat_id(value: Any, bad: Any) -> str:
    if not isinstance(value, str) or len(value) > 32:
        raise bad("vat_id", "must be a string of at most 32 characters")
    return value.strip()


def _percent(value: Any, bad: Any) -> Decimal:
    try:
        percent = Decimal(value) if isinstance(value, str | int | Decimal) else Decimal(-1)
    except InvalidOperation:
        percent = Decimal(-1)
    if isinstance(value, bool) or not percent.is_finite() or not 0 <= percent < 100:
        raise bad("vat_percent", "must be a number from 0 to below 100, e.g. 20")
    return percent


def _flag(value: Any, name: str, bad: Any) -> bool:
    if not isinstance(value, bool):
        raise bad(name, "must be true or false")
    return value


def _accounts(value: Any, bad: Any) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise bad("accounts", 'must be an object of account name -> code, e.g. {"revenue": "4100"}')
    for account, code in value.items():
        if account not in ACCOUNTS:
            raise bad("accounts", f"{account!r} is not an account; they are " + ", ".join(ACCOUNTS))
        if not isinstance(code, str) or not _ACCOUNT_CODE.match(code):
            rule = "the code must be 1-32 letters, digits, '.', '-' or ':'"
            raise bad("accounts", f"{account}: {rule}")
    return MappingProxyType(dict(value))


def dump_legal_entities(entities: Mapping[str, LegalEntitySetting]) -> str:
    """The WEFTWORK_LEGAL_ENTITIES JSON of these entities (parse_legal_entities reads it back)."""
    return json.dumps(
        [
            {
                "code": e.code,
                "name": e.name,
                "country": e.country,
                "address": list(e.address),
                "vat_id": e.vat_id,
                "currencies": list(e.currencies),
                "vat_percent": str(e.vat_percent),
                "reverse_charge": e.reverse_charge,
                "approval_required": e.approval_required,
                "accounts": dict(e.accounts),
            }
            for e in entities.values()
        ],
        ensure_ascii=False,
        indent=2,
    )
