"""A source's mapping: which stages are won, which CRM property feeds which engagement field,
and the defaults (entity, currency, billing model, template) for what the deal does not say.

The document is JSON, validated on save (every mistake reported at once, with its path) and
applied to each receipt. Applying it yields OpportunityWonInput-shaped data, so a CRM deal and
a Standard Webhooks `opportunity.won` take the same road to project.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from mesh.errors import InvalidArgument, Violations
from mesh.money import is_currency
from services.connect.domain.mapping_checks import (
    check_defaults,
    names,
    strings,
)
from services.connect.domain.model import SourceKind
from services.connect.domain.opportunity import (
    OpportunityWon,
    Unmappable,
    day,
    opportunity_from_input,
)

# Engagement fields a deal property may feed (names as in OpportunityWonInput).
DEAL_FIELDS = (
    "name",
    "contractValue",
    "currency",
    "legalEntity",
    "billingModel",
    "budgetHours",
    "startDate",
    "endDate",
    "paymentTermsDays",
    "expenseMarkupPercent",
)
ACCOUNT_FIELDS = ("externalId", "name", "domain", "country", "taxId")
TOP_KEYS = ("wonStages", "fields", "account", "defaults", "currencies")
MAX_DOCUMENT = 64_000

_KIND_DEFAULTS: dict[SourceKind, dict[str, Any]] = {
    SourceKind.HUBSPOT: {
        "wonStages": ["closedwon"],
        "fields": {
            "name": "dealname",
            "contractValue": "amount",
            "currency": "deal_currency_code",
            "startDate": "closedate",
        },
        "account": {"name": "name", "domain": "domain", "country": "country"},
    },
    SourceKind.SALESFORCE: {
        "wonStages": ["Closed Won"],
        "fields": {
            "name": "Name",
            "contractValue": "Amount",
            "currency": "CurrencyIsoCode",
            "startDate": "CloseDate",
        },
        "account": {"externalId": "AccountId", "name": "Account_Name__c"},
    },
    SourceKind.STANDARD_WEBHOOKS: {"wonStages": [], "fields": {}, "account": {}},
}


@dataclass(frozen=True)
class Mapping:
    won_stages: tuple[str, ...]
    fields: dict[str, str]
    account: dict[str, str]
    defaults: dict[str, Any]
    currencies: tuple[str, ...] = ()  # empty: every ISO 4217 currency
    template: dict[str, Any] = field(default_factory=dict)

    def is_won(self, stage: str) -> bool:
        return stage in self.won_stages

    def check_currency(self, currency: str) -> None:
        if self.currencies and currency not in self.currencies:
            raise Unmappable(
                "UNSUPPORTED_CURRENCY",
                f"{currency} is not among the source's currencies ({', '.join(self.currencies)});"
                " add it to the mapping's `currencies` and retry",
            )

    def opportunity(self, data: dict[str, Any], source: str) -> OpportunityWon:
        """OpportunityWonInput-shaped data, completed from the defaults and template."""
        won = dict(data)
        for key in ("legalEntity", "currency", "billingModel"):
            if not won.get(key) and self.defaults.get(key):
                won[key] = self.defaults[key]
        account = dict(won.get("account") or {})
        if not account.get("country") and self.defaults.get("country"):
            account["country"] = self.defaults["country"]
        won["account"] = account
        for key in ("rateCard", "budgetHours", "paymentTermsDays", "expenseMarkupPercent"):
            if won.get(key) in (None, "", []) and key in self.template:
                won[key] = self.template[key]
        if not won.get("endDate") and won.get("startDate"):
            start = day(won["startDate"], "startDate")
            won["endDate"] = (
                start + dt.timedelta(days=self.template.get("durationDays", 90))
            ).isoformat()
        opportunity = opportunity_from_input(won, source)
        self.check_currency(opportunity.currency)
        return opportunity

    def deal_input(
        self, opportunity_id: str, deal: dict[str, Any], company: dict[str, Any], account_id: str
    ) -> dict[str, Any]:
        """A CRM deal's properties (and its company's) as OpportunityWonInput-shaped data."""
        data: dict[str, Any] = {"opportunityId": opportunity_id}
        for target, prop in self.fields.items():
            if deal.get(prop) not in (None, ""):
                data[target] = deal[prop]
        account: dict[str, Any] = {"externalId": account_id}
        for target, prop in self.account.items():
            value = company.get(prop, deal.get(prop))
            if value not in (None, ""):
                account[target] = value
        data["account"] = account
        return data


def default_document(kind: SourceKind) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(_KIND_DEFAULTS[kind]))  # a deep copy
    return copy


@functools.lru_cache(maxsize=256)
def parse_mapping(document: str, kind: SourceKind) -> Mapping:
    """The validated mapping; INVALID_ARGUMENT lists every mistake as `mapping.<path>`.

    Cached by document: the worker applies a source's mapping to every receipt, and a
    Mapping is never changed after it is built."""
    errors = Violations()
    if len(document) > MAX_DOCUMENT:
        raise InvalidArgument.one("mapping", f"at most {MAX_DOCUMENT} characters")
    try:
        raw = (
            json.loads(document, parse_float=str, parse_constant=_no_constant)
            if document.strip()
            else {}
        )
    except (ValueError, RecursionError) as exc:
        raise InvalidArgument.one("mapping", f"is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidArgument.one("mapping", "must be a JSON object")
    for key in raw:
        if key not in TOP_KEYS:
            errors.add(f"mapping.{key}", f"unknown key; expected one of {', '.join(TOP_KEYS)}")
    merged = {**default_document(kind), **raw}
    stages = strings(merged.get("wonStages"), "mapping.wonStages", errors)
    fields = names(merged.get("fields"), DEAL_FIELDS, "mapping.fields", errors)
    account = names(merged.get("account"), ACCOUNT_FIELDS, "mapping.account", errors)
    currencies = strings(merged.get("currencies", []), "mapping.currencies", errors)
    for i, code in enumerate(currencies):
        if not is_currency(code):
            errors.add(f"mapping.currencies[{i}]", f"{code!r} is not an ISO 4217 currency")
    defaults = merged.get("defaults", {})
    template: dict[str, Any] = {}
    if not isinstance(defaults, dict):
        errors.add("mapping.defaults", "must be an object")
        defaults = {}
    else:
        template = check_defaults(defaults, errors)
    if kind is not SourceKind.STANDARD_WEBHOOKS and not stages:
        errors.add("mapping.wonStages", "name at least one won stage")
    errors.raise_if_any()
    return Mapping(
        won_stages=tuple(stages),
        fields=fields,
        account=account,
        defaults=defaults,
        currencies=tuple(currencies),
        template=template,
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")
