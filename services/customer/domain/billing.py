"""Where a customer's invoices go: the billing contact and the postal address (DESIGN.md §9)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mesh.errors import Violations
from services.customer.domain import identity

MAX_CONTACT_NAME = 200
MAX_EMAIL = 254
MAX_ADDRESS_LINES = 4
MAX_LINE = 100
MAX_POSTCODE = 20
# One @, a dot in the domain, no spaces: the shape, not deliverability.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_POSTCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]*$")


@dataclass(frozen=True)
class BillingContact:
    name: str
    email: str


@dataclass(frozen=True)
class PostalAddress:
    lines: tuple[str, ...]
    city: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2


def _text(value: str, field: str, limit: int, errors: Violations) -> str:
    cleaned = " ".join(value.split())
    if len(cleaned) > limit:
        errors.add(field, f"must be at most {limit} characters")
    elif any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value):
        errors.add(field, "must not contain control characters")
    return cleaned


def check_contact(name: str, email: str, field: str, errors: Violations) -> BillingContact | None:
    """None when both are empty (no contact); else a name or an email, each well formed."""
    clean_name = _text(name, f"{field}.name", MAX_CONTACT_NAME, errors)
    clean_email = email.strip()
    if not clean_name and not clean_email:
        return None
    if clean_email and len(clean_email) > MAX_EMAIL:
        errors.add(f"{field}.email", f"must be at most {MAX_EMAIL} characters")
    elif clean_email and not _EMAIL.match(clean_email):
        errors.add(f"{field}.email", f"{email!r} is not an email address (name@example.com)")
    elif not clean_email:
        errors.add(f"{field}.email", "must not be empty: invoices are sent to it")
    return BillingContact(clean_name, clean_email)


def check_address(
    lines: list[str], city: str, postcode: str, country: str, field: str, errors: Violations
) -> PostalAddress | None:
    """None when every part is empty (no address); else street lines, city and country."""
    parts = [line for line in lines if line.strip()]
    if not parts and not city.strip() and not postcode.strip() and not country.strip():
        return None
    if not parts:
        errors.add(f"{field}.lines", "must have at least one street line")
    elif len(parts) > MAX_ADDRESS_LINES:
        errors.add(f"{field}.lines", f"must have at most {MAX_ADDRESS_LINES} lines")
    clean_lines = tuple(
        _text(line, f"{field}.lines[{i}]", MAX_LINE, errors) for i, line in enumerate(parts)
    )
    clean_city = _text(city, f"{field}.city", MAX_LINE, errors)
    if not clean_city:
        errors.add(f"{field}.city", "must not be empty")
    clean_postcode = " ".join(postcode.split())
    if len(clean_postcode) > MAX_POSTCODE:
        errors.add(f"{field}.postcode", f"must be at most {MAX_POSTCODE} characters")
    elif clean_postcode and not _POSTCODE.match(clean_postcode):
        errors.add(f"{field}.postcode", "may contain only letters, digits, spaces and dashes")
    clean_country = identity.check_country(country, f"{field}.country", errors)
    return PostalAddress(clean_lines, clean_city, clean_postcode, clean_country)
