"""Checks of the values requests carry (text, decimal strings, money), each naming its field."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from mesh.errors import InvalidArgument, Violations
from mesh.money import Money, bounded_amount, is_currency
from mesh.requests import quantity

MAX_NAME = 200
MAX_ID = 128
MAX_BATCH = 500  # entries or ids per batch call: one transaction, one event per engagement


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in text)


def check_text(
    text: str, field: str, errors: Violations, *, max_length: int = MAX_NAME, required: bool = True
) -> str:
    """Trimmed text; empty is allowed only when not required."""
    cleaned = text.strip()
    if not cleaned:
        if required:
            errors.add(field, "must not be empty")
    elif len(cleaned) > max_length:
        errors.add(field, f"must be at most {max_length} characters")
    elif _has_control(cleaned):
        errors.add(field, "must not contain control characters")
    return cleaned


def check_decimal(
    text: str,
    field: str,
    errors: Violations,
    *,
    low: Decimal,
    high: Decimal,
    places: int,
    low_exclusive: bool = False,
    default: Decimal | None = None,
) -> Decimal | None:
    """A decimal string within [low, high] (or (low, high]) with at most `places` decimals;
    bounded as DESIGN.md §6 says before anything else is done with it."""
    if not text.strip() and default is not None:
        return default
    value = quantity(text, field, errors)
    if value is None:
        return None
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int), "a matched decimal string is finite"
    if value < low or (low_exclusive and value == low) or value > high:
        lower = f"more than {low}" if low_exclusive else f"at least {low}"
        errors.add(field, f"must be {lower} and at most {high}")
        return None
    if -exponent > places:
        errors.add(field, f"may have at most {places} decimal places")
        return None
    return value


def check_batch_size(count: int, field: str) -> None:
    if not 1 <= count <= MAX_BATCH:
        raise InvalidArgument.one(field, f"must hold 1 to {MAX_BATCH} items, not {count}")


def check_currency(code: str, field: str, errors: Violations) -> str | None:
    if not is_currency(code):
        errors.add(field, f"{code[:16]!r} is not an ISO 4217 currency code such as 'EUR'")
        return None
    return code


def check_money(
    amount: Money | None,
    currency: str | None,
    field: str,
    errors: Violations,
    *,
    positive: bool,
) -> Money | None:
    """An amount in the engagement's currency (an empty code means that currency), exact to its
    minor unit: money is never silently rounded on the way in."""
    if amount is None:
        errors.add(field, "is required")
        return None
    if currency is None:  # the currency itself was wrong; that is reported once, elsewhere
        return None
    if amount.currency not in ("", currency):
        errors.add(f"{field}.currency_code", f"must be the engagement's currency {currency}")
        return None
    if amount.amount < 0 or (positive and amount.amount == 0):
        errors.add(field, "must be more than 0" if positive else "must not be negative")
        return None
    try:
        exact = bounded_amount(amount.amount, currency)
    except ValueError as exc:
        errors.add(field, str(exc))
        return None
    return Money.of(exact, currency)


def decimal_text(value: Decimal) -> str:
    """The contract's decimal string form: no exponent, ever."""
    return format(value, "f")
