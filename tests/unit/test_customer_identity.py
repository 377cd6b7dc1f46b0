"""Normalization and validation rules of DESIGN.md §3 (customer resolution)."""

from __future__ import annotations

import pytest

from mesh.errors import InvalidArgument
from services.customer.domain.identity import normalize_domain, normalize_name, normalize_tax_id
from services.customer.domain.model import AccountFacts, ExternalRef


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme, Inc.", "acme"),
        ("ACME INC", "acme"),
        ("acme llc", "acme"),
        ("Müller GmbH & Co. KG", "müller"),
        ("Nordic Data B.V.", "nordic data"),
        ("Brightwave S.A.", "brightwave"),
        ("Inc", "inc"),  # a name that is only a suffix keeps it
        ("AG Barr PLC", "ag barr"),  # only trailing legal forms are dropped
        ("  O'Neil   Partners Ltd ", "oneil partners"),
    ],
)
def test_names_normalize_without_case_punctuation_or_legal_suffix(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["https://www.Acme.com/about", "http://acme.com", "WWW.ACME.COM", "acme.com.", "acme.com:443"],
)
def test_domains_normalize_to_bare_host(raw: str) -> None:
    assert normalize_domain(raw) == "acme.com"


def test_tax_ids_ignore_case_spaces_and_dashes() -> None:
    assert normalize_tax_id("de 123-456 789") == normalize_tax_id("DE123456789") == "DE123456789"


def _facts(**overrides: object) -> AccountFacts:
    fields: dict[str, object] = {
        "name": "Acme Inc",
        "country": "US",
        "domain": "acme.com",
        "tax_id": "",
        "ref": ExternalRef("salesforce", "001A"),
    }
    fields.update(overrides)
    return AccountFacts.parse(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"country": "USA"}, "country"),
        ({"country": "XX"}, "country"),
        ({"country": ""}, "country"),
        ({"domain": "not a domain"}, "domain"),
        ({"domain": "a" * 300 + ".com"}, "domain"),
        ({"tax_id": "DE#123"}, "tax_id"),
        ({"tax_id": "1" * 40}, "tax_id"),
        ({"ref": ExternalRef("Sales Force", "1")}, "external_ref.system"),
        ({"ref": ExternalRef("x", "1")}, "external_ref.system"),
        ({"ref": ExternalRef("salesforce", "")}, "external_ref.id"),
        ({"ref": ExternalRef("salesforce", "1" * 129)}, "external_ref.id"),
    ],
)
def test_bad_account_facts_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _facts(**overrides)
    assert [v.field for v in caught.value.violations] == [field]


def test_every_mistake_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as caught:
        _facts(name=" ", country="ZZ", domain="nope")
    assert {v.field for v in caught.value.violations} == {"name", "country", "domain"}


def test_country_is_upper_cased() -> None:
    assert _facts(country="gb").country == "GB"
