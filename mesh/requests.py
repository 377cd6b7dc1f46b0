"""Request fields every service parses the same way: ids, legal entities, and the numbers of
DESIGN.md §6 (decimal strings and google.type.Money), bounded before any arithmetic."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from mesh.errors import InvalidArgument, Violations
from mesh.legal_entities import LEGAL_ENTITY_CODE
from mesh.money import MONEY_INTEGER_DIGITS, Money, bounded_quantity, parse_decimal

MAX_BATCH = 1000  # ids per batch read: the gateway's pages are at most 100
# The contracts' decimal strings: "7.50", an optional sign; no exponent, no separators.
_PLAIN_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
_NANOS = 1_000_000_000
_MAX_UNITS = 10**MONEY_INTEGER_DIGITS


def parse_id(value: str, field: str, *, kind: str = "an id") -> uuid.UUID:
    """A UUID, or INVALID_ARGUMENT naming the field ("'x' is not an invoice id (a UUID)")."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument.one(field, f"{value[:64]!r} is not {kind} (a UUID)") from None


def parse_ids(
    values: Sequence[str], field: str, *, kind: str = "an id", limit: int = MAX_BATCH
) -> list[uuid.UUID]:
    if len(values) > limit:
        raise InvalidArgument.one(field, f"at most {limit} ids per call")
    return [parse_id(v, f"{field}[{i}]", kind=kind) for i, v in enumerate(values)]


class DateMessage(Protocol):
    """google.type.Date as far as reading it goes."""

    @property
    def year(self) -> int: ...
    @property
    def month(self) -> int: ...
    @property
    def day(self) -> int: ...


def parse_date(message: DateMessage, field: str) -> dt.date:
    """A calendar date; an unset (all zero) or impossible one is INVALID_ARGUMENT."""
    try:
        return dt.date(message.year, message.month, message.day)
    except ValueError:
        raise InvalidArgument.one(field, "is required (a valid date)") from None


def parse_legal_entity(value: str, field: str) -> str:
    """A legal entity's code as every service spells it: 2-8 upper-case letters or digits."""
    if not LEGAL_ENTITY_CODE.match(value):
        raise InvalidArgument.one(field, f"{value[:16]!r} is not a legal entity code, e.g. UK01")
    return value


def quantity(text: str, field: str, errors: Violations) -> Decimal | None:
    """Hours, a rate or a percentage as a decimal string: finite, without exponent, at most
    9 integer digits and 6 decimals (DESIGN.md §6); None, with the violation noted, otherwise."""
    cleaned = text.strip()
    if len(cleaned) > 64 or not _PLAIN_DECIMAL.match(cleaned):
        errors.add(field, f"{text[:32]!r} is not a decimal number such as '7.50'")
        return None
    try:
        return bounded_quantity(parse_decimal(cleaned))
    except ValueError as exc:
        errors.add(field, str(exc))
        return None


class MoneyMessage(Protocol):
    """google.type.Money as far as reading it goes (this module stays free of protobuf)."""

    @property
    def units(self) -> int: ...
    @property
    def nanos(self) -> int: ...
    @property
    def currency_code(self) -> str: ...


def money(message: MoneyMessage, field: str, errors: Violations) -> Money | None:
    """A google.type.Money exactly as sent: nanos within ±10^9 with the sign of units, at most
    15 integer digits. Its currency and minor unit are the caller's to check (they depend on
    the engagement or invoice); None, with the violation noted, when it is malformed."""
    units, nanos = message.units, message.nanos
    if not -_NANOS < nanos < _NANOS or (units > 0 > nanos) or (units < 0 < nanos):
        errors.add(f"{field}.nanos", "must be within ±999,999,999 and have the sign of units")
        return None
    if not -_MAX_UNITS < units < _MAX_UNITS:
        errors.add(
            field, f"must have at most {MONEY_INTEGER_DIGITS} digits before the decimal point"
        )
        return None
    return Money(Decimal(units) + Decimal(nanos) / _NANOS, message.currency_code)


def required_quantity(text: str, field: str) -> Decimal:
    """quantity(), raising its violation (INVALID_ARGUMENT) at once."""
    errors = Violations()
    found = quantity(text, field, errors)
    errors.raise_if_any()
    assert found is not None
    return found


def required_money(message: MoneyMessage, field: str) -> Money:
    """money(), raising its violation (INVALID_ARGUMENT) at once."""
    errors = Violations()
    found = money(message, field, errors)
    errors.raise_if_any()
    assert found is not None
    return found
