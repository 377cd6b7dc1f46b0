"""WEFTWORK_LEGAL_ENTITIES: one configuration for every service and the gateway, checked at
start with errors naming the entity and the field (DESIGN.md §9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mesh.legal_entities import (
    ACCOUNTS,
    DEFAULT_LEGAL_ENTITIES,
    dump_legal_entities,
    load_legal_entities,
)
from mesh.settings import SettingsError, load_settings
from services.revenue.domain.accounts import Account

FR01: dict[str, Any] = {
    "code": "FR01",
    "name": "Weftwork Conseil SAS",
    "country": "FR",
    "address": ["12 rue de la Paix", "75002 Paris", "France"],
    "vat_id": "FR12345678901",
    "currencies": ["EUR"],
    "vat_percent": 20,
    "reverse_charge": True,
    "accounts": {"revenue": "706000", "tax_payable": "445710"},
}


def entities(*objects: dict[str, Any]) -> str:
    return json.dumps(list(objects))


def test_unset_means_the_three_defaults_as_before() -> None:
    found = load_settings({}).legal_entities
    assert list(found) == ["US01", "UK01", "DE01"]
    assert {c: (e.country, e.currency, e.vat_percent) for c, e in found.items()} == {
        "US01": ("US", "USD", Decimal(0)),
        "UK01": ("GB", "GBP", Decimal(20)),
        "DE01": ("DE", "EUR", Decimal(19)),
    }
    assert all(e.name and e.address and not e.approval_required for e in found.values())
    assert found["DE01"].vat_id.startswith("DE") and found["US01"].vat_id == ""


def test_the_json_is_the_complete_list_with_every_field() -> None:
    found = load_legal_entities(entities(FR01))
    assert list(found) == ["FR01"]  # the defaults are not merged in
    fr = found["FR01"]
    assert (fr.name, fr.country, fr.vat_id) == ("Weftwork Conseil SAS", "FR", "FR12345678901")
    assert fr.address == ("12 rue de la Paix", "75002 Paris", "France")
    assert (fr.currencies, fr.currency, fr.vat_percent) == (("EUR",), "EUR", Decimal(20))
    assert fr.reverse_charge and not fr.approval_required
    assert dict(fr.accounts) == {"revenue": "706000", "tax_payable": "445710"}
    assert {fr} == {replace(fr)}  # frozen and hashable, accounts included


def test_a_file_is_named_with_an_at_sign(tmp_path: Path) -> None:
    path = tmp_path / "entities.json"
    path.write_text(dump_legal_entities(DEFAULT_LEGAL_ENTITIES), encoding="utf-8")
    assert load_settings({"WEFTWORK_LEGAL_ENTITIES": f"@{path}"}).legal_entities == dict(
        DEFAULT_LEGAL_ENTITIES
    )
    with pytest.raises(SettingsError, match=r"^WEFTWORK_LEGAL_ENTITIES: cannot read .*missing"):
        load_settings({"WEFTWORK_LEGAL_ENTITIES": f"@{tmp_path / 'missing.json'}"})


def test_dumped_entities_read_back_equal() -> None:
    changed = replace(DEFAULT_LEGAL_ENTITIES["UK01"], vat_percent=Decimal("17.5"))
    text = dump_legal_entities({**DEFAULT_LEGAL_ENTITIES, "UK01": changed})
    assert load_legal_entities(text) == {**DEFAULT_LEGAL_ENTITIES, "UK01": changed}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in FR01.items() if k != key}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", r"not valid JSON"),
        ("[]", r"non-empty JSON array"),
        ('{"code": "FR01"}', r"non-empty JSON array"),
        (entities(without("vat_percent")), r"legal entity FR01: vat_percent is missing"),
        (entities(without("reverse_charge")), r"legal entity FR01: reverse_charge is missing"),
        (entities(without("currencies")), r"legal entity FR01: currencies is missing"),
        (entities({**FR01, "code": "fr01"}), r"entry 0: code must be 2-8 upper-case"),
        (entities({**FR01, "country": "France"}), r"FR01: country must be ISO 3166-1"),
        (entities({**FR01, "currencies": []}), r"FR01: currencies must be a non-empty"),
        (entities({**FR01, "currencies": ["EUR", "EUR"]}), r"FR01: currencies must be"),
        (entities({**FR01, "vat_percent": "NaN"}), r"FR01: vat_percent must be a number"),
        (entities({**FR01, "vat_percent": 100}), r"FR01: vat_percent must be a number"),
        (entities({**FR01, "vat_percent": True}), r"FR01: vat_percent must be a number"),
        (entities({**FR01, "reverse_charge": "yes"}), r"FR01: reverse_charge must be true"),
        (entities({**FR01, "vat": 20}), r"FR01: vat is not a known field"),
        (entities({**FR01, "accounts": {"sales": "1"}}), r"FR01: accounts 'sales' is not an"),
        (entities({**FR01, "accounts": {"revenue": ""}}), r"FR01: accounts revenue: the code"),
        (entities({**FR01, "address": "Paris"}), r"FR01: address must be a list"),
        (entities(FR01, FR01), r"legal entity FR01 is configured twice"),
    ],
)
def test_a_bad_configuration_names_the_entity_and_the_field(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"^WEFTWORK_LEGAL_ENTITIES: .*{message}"):
        load_settings({"WEFTWORK_LEGAL_ENTITIES": text})


def test_the_retired_variables_are_refused_not_ignored() -> None:
    for name in ("WEFTWORK_BILLING_LEGAL_ENTITIES", "WEFTWORK_APPROVAL_REQUIRED_ENTITIES"):
        with pytest.raises(SettingsError, match=f"^{name} is retired"):
            load_settings({name: "FR01:FR:20"})


def test_the_configured_account_names_are_the_journals() -> None:
    assert set(ACCOUNTS) == {a.value for a in Account}


@pytest.mark.parametrize("name", ["project", "billing", "revenue", "gateway"])
def test_a_process_refuses_to_start_naming_the_entity_without_a_vat_rule(
    name: str, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WEFTWORK_")},
        "WEFTWORK_DATA_DIR": str(tmp_path),
        "WEFTWORK_LEGAL_ENTITIES": entities(without("vat_percent")),
    }
    done = subprocess.run(
        [sys.executable, "-m", "devstack.cli", "serve", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "WEFTWORK_LEGAL_ENTITIES: legal entity FR01: vat_percent is missing" in done.stderr
