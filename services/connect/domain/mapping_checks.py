"""The checks of a mapping document's parts, each mistake reported with its path."""

from __future__ import annotations

from typing import Any

from mesh.errors import Violations
from mesh.money import is_currency
from services.connect.domain.opportunity import BILLING_MODELS, Unmappable, rate_card

DEFAULT_KEYS = ("legalEntity", "currency", "billingModel", "country", "template")
TEMPLATE_KEYS = (
    "rateCard",
    "budgetHours",
    "durationDays",
    "paymentTermsDays",
    "expenseMarkupPercent",
)


def strings(value: Any, path: str, errors: Violations) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors.add(path, "must be a list of non-empty strings")
        return []
    return list(value)


def names(value: Any, allowed: tuple[str, ...], path: str, errors: Violations) -> dict[str, str]:
    if not isinstance(value, dict):
        errors.add(path, "must be an object of field -> property name")
        return {}
    for key, prop in value.items():
        if key not in allowed:
            errors.add(f"{path}.{key}", f"unknown field; expected one of {', '.join(allowed)}")
        elif not isinstance(prop, str) or not prop:
            errors.add(f"{path}.{key}", "must be a property name")
    return {k: v for k, v in value.items() if k in allowed and isinstance(v, str) and v}


def check_defaults(defaults: dict[str, Any], errors: Violations) -> dict[str, Any]:
    for key in defaults:
        if key not in DEFAULT_KEYS:
            errors.add(
                f"mapping.defaults.{key}", f"unknown key; expected one of {', '.join(DEFAULT_KEYS)}"
            )
    currency = defaults.get("currency")
    if currency is not None and not (isinstance(currency, str) and is_currency(currency)):
        errors.add("mapping.defaults.currency", f"{currency!r} is not an ISO 4217 currency")
    model = defaults.get("billingModel")
    if model is not None and model not in BILLING_MODELS:
        errors.add("mapping.defaults.billingModel", f"must be one of {', '.join(BILLING_MODELS)}")
    for key in ("legalEntity", "country"):
        if key in defaults and not (isinstance(defaults[key], str) and defaults[key]):
            errors.add(f"mapping.defaults.{key}", "must be a non-empty string")
    template = defaults.get("template", {})
    if not isinstance(template, dict):
        errors.add("mapping.defaults.template", "must be an object")
        return {}
    for key in template:
        if key not in TEMPLATE_KEYS:
            errors.add(
                f"mapping.defaults.template.{key}",
                f"unknown key; expected one of {', '.join(TEMPLATE_KEYS)}",
            )
    check_template(template, errors)
    return template


def check_template(template: dict[str, Any], errors: Violations) -> None:
    path = "mapping.defaults.template"
    try:
        rate_card(template.get("rateCard"), f"{path}.rateCard")
    except Unmappable as exc:
        errors.add(f"{path}.rateCard", exc.reason)
    for key, high in (("durationDays", 3660), ("paymentTermsDays", 365)):
        value = template.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= high
        ):
            errors.add(f"{path}.{key}", f"must be a whole number of days, 1..{high}")
