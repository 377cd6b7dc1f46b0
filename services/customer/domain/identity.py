"""Normalization and validation of the facts that identify an account across CRM, PSA and ERP."""

from __future__ import annotations

import re
import unicodedata

import pycountry

from mesh.errors import Violations

MAX_NAME = 200
MAX_DOMAIN = 253
MAX_TAX_ID = 32
MAX_EXTERNAL_ID = 128

COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)
# System names are slugs such as "salesforce", "hubspot", "netsuite", "sap-s4".
_SYSTEM = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TAX_ID = re.compile(r"^[A-Z0-9]{2,32}$")
# Trailing legal-form tokens dropped from names (compared after punctuation is removed).
LEGAL_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "kg",
        "oy",
        "ab",
        "as",
        "pty",
        "pte",
    ]
)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in text)


def normalize_name(name: str) -> str:
    """Case-folded, punctuation-free, without trailing legal suffixes: 'ACME, Inc.' -> 'acme'."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = re.sub(r"[.,'\u2019]", "", text)
    tokens = re.sub(r"[^\w]+", " ", text).split()
    kept = list(tokens)
    while len(kept) > 1 and kept[-1] in LEGAL_SUFFIXES:
        kept.pop()
    return " ".join(kept)


def normalize_domain(domain: str) -> str:
    """Lower-cased host without scheme, path, port or leading 'www.'."""
    text = domain.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    return text.removeprefix("www.")


def normalize_tax_id(tax_id: str) -> str:
    """Upper-cased, spaces, dots and dashes removed: 'de 123-456.789' -> 'DE123456789'."""
    return re.sub(r"[\s.\-]", "", tax_id).upper()


def check_name(name: str, field: str, errors: Violations) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        errors.add(field, "must not be empty or whitespace")
    elif len(cleaned) > MAX_NAME:
        errors.add(field, f"must be at most {MAX_NAME} characters")
    elif _has_control(cleaned):
        errors.add(field, "must not contain control characters")
    elif not normalize_name(cleaned):
        errors.add(field, "must contain at least one letter or digit")
    return cleaned


def check_country(country: str, field: str, errors: Violations) -> str:
    code = country.strip().upper()
    if code not in COUNTRIES:
        errors.add(field, f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def check_domain(domain: str, field: str, errors: Violations) -> str | None:
    if not domain.strip():
        return None
    host = normalize_domain(domain)
    if len(domain) > MAX_DOMAIN + 64 or len(host) > MAX_DOMAIN:
        errors.add(field, f"must be at most {MAX_DOMAIN} characters")
    elif "." not in host or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        errors.add(field, f"{domain!r} is not a domain name")
    return host


def check_tax_id(tax_id: str, field: str, errors: Violations) -> str | None:
    if not tax_id.strip():
        return None
    normalized = normalize_tax_id(tax_id)
    if len(normalized) > MAX_TAX_ID:
        errors.add(field, f"must be at most {MAX_TAX_ID} characters")
    elif not _TAX_ID.match(normalized):
        errors.add(field, "may contain only letters and digits (spaces, dots, dashes are ignored)")
    return normalized


def check_external_ref(system: str, external_id: str, field: str, errors: Violations) -> None:
    if not _SYSTEM.match(system):
        errors.add(
            f"{field}.system",
            "must be a lower-case system name of 2-32 characters (a-z, 0-9, '.', '_', '-'),"
            " starting with a letter, e.g. 'salesforce'",
        )
    if not external_id.strip():
        errors.add(f"{field}.id", "must not be empty")
    elif len(external_id) > MAX_EXTERNAL_ID:
        errors.add(f"{field}.id", f"must be at most {MAX_EXTERNAL_ID} characters")
    elif _has_control(external_id) or external_id != external_id.strip():
        errors.add(f"{field}.id", "must not contain control characters or surrounding spaces")
