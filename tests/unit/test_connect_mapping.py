"""The mapping document: validated on save with every mistake named, and applied to deals."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from mesh.errors import InvalidArgument
from services.connect.domain.mapping import parse_mapping
from services.connect.domain.model import SourceKind
from services.connect.domain.opportunity import Unmappable

HUBSPOT = json.dumps(
    {
        "currencies": ["USD", "EUR"],
        "defaults": {
            "legalEntity": "US01",
            "currency": "USD",
            "billingModel": "TIME_AND_MATERIALS",
            "country": "US",
            "template": {
                "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "80"}],
                "durationDays": 30,
                "paymentTermsDays": 45,
            },
        },
    }
)


def test_every_mistake_is_named_with_its_path() -> None:
    bad = {
        "wonStages": [],
        "fields": {"price": "amount", "name": 7},
        "account": "name",
        "currencies": ["USD", "XXY"],
        "defaults": {"billingModel": "BARTER", "template": {"durationDays": 0, "colour": "red"}},
        "extra": True,
    }
    with pytest.raises(InvalidArgument) as raised:
        parse_mapping(json.dumps(bad), SourceKind.HUBSPOT)
    fields = {v.field for v in raised.value.violations}
    assert fields == {
        "mapping.extra",
        "mapping.wonStages",
        "mapping.fields.price",
        "mapping.fields.name",
        "mapping.account",
        "mapping.currencies[1]",
        "mapping.defaults.billingModel",
        "mapping.defaults.template.durationDays",
        "mapping.defaults.template.colour",
    }
    with pytest.raises(InvalidArgument):
        parse_mapping("{not json", SourceKind.HUBSPOT)
    nan = {"rateCard": [{"role": "x", "billRate": "NaN", "costRate": "1"}]}
    with pytest.raises(InvalidArgument):
        parse_mapping(json.dumps({"defaults": {"template": nan}}), SourceKind.HUBSPOT)


def test_a_hubspot_deal_is_completed_from_defaults_and_template() -> None:
    mapping = parse_mapping(HUBSPOT, SourceKind.HUBSPOT)
    assert mapping.is_won("closedwon") and not mapping.is_won("qualifiedtobuy")
    data = mapping.deal_input(
        "4242",
        {"dealname": "Rollout", "amount": "1200.5", "closedate": "2026-11-30T17:00:00Z"},
        {"name": "Globex", "country": "United States", "domain": "globex.example"},
        "9001",
    )
    won = mapping.opportunity(data, "hubspot")
    assert won.opportunity_id == "4242" and won.name == "Rollout"
    assert won.account.external_id == "9001" and won.account.country == "US"
    assert (won.legal_entity, won.currency, won.billing_model) == (
        "US01",
        "USD",
        "TIME_AND_MATERIALS",
    )
    assert won.contract_value == Decimal("1200.5")
    assert (won.start_date, won.end_date) == (dt.date(2026, 11, 30), dt.date(2026, 12, 30))
    assert won.payment_terms_days == 45 and won.rate_card[0].bill_rate == Decimal("150")


@pytest.mark.parametrize(
    ("deal", "code"),
    [
        ({"deal_currency_code": "CHF"}, "UNSUPPORTED_CURRENCY"),
        ({"deal_currency_code": "ABC"}, "UNSUPPORTED_CURRENCY"),
        ({"amount": "1E+999999999"}, "INVALID_FIELD"),
        ({"amount": "12.345"}, "INVALID_FIELD"),
        ({"closedate": "soon"}, "INVALID_FIELD"),
        ({"dealname": ""}, "MISSING_FIELD"),
    ],
)
def test_a_deal_that_cannot_be_mapped_says_why(deal: dict[str, str], code: str) -> None:
    mapping = parse_mapping(HUBSPOT, SourceKind.HUBSPOT)
    properties = {"dealname": "X", "amount": "10", "closedate": "2026-01-01", **deal}
    data = mapping.deal_input("1", properties, {"name": "Y"}, "2")
    with pytest.raises(Unmappable) as raised:
        mapping.opportunity(data, "hubspot")
    assert raised.value.code == code
