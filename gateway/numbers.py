"""Every number that enters (DESIGN.md §6): finite and bounded before any arithmetic.

The `Decimal` scalar refuses what no field accepts (NaN, Infinity, an exponent like
`1E+999999999`, more than 15 integer digits or 6 decimals); each field then applies its own
bound, naming itself: money by its currency's minor units, hours, rates and percentages by
`bounded_quantity`.
"""

from __future__ import annotations

import decimal
from typing import Any

import strawberry
from google.type import money_pb2

from gateway.errors import BadUserInput
from mesh.grpc.convert import money_to_proto
from mesh.money import (
    MONEY_INTEGER_DIGITS,
    QUANTITY_DECIMALS,
    Money,
    bounded_amount,
    bounded_quantity,
    is_currency,
    parse_decimal,
)


def _parse(value: Any) -> decimal.Decimal:
    # JSON gives numbers as int or float; a float's shortest repr is the text the client sent.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadUserInput('a Decimal is a string such as "1234.50"')
    try:
        number = parse_decimal(value if isinstance(value, str) else repr(value))
        if number.adjusted() >= MONEY_INTEGER_DIGITS:
            raise ValueError(f"has more than {MONEY_INTEGER_DIGITS} digits before the point")
        if number and number.normalize().as_tuple().exponent < -QUANTITY_DECIMALS:  # type: ignore[operator]
            raise ValueError(f"has more than {QUANTITY_DECIMALS} decimal places")
    except ValueError as error:
        raise BadUserInput(f"not an accepted Decimal: {error}") from None
    return number


def _serialize(value: decimal.Decimal) -> str:
    return str(value)


# The schema's `Decimal` (StrawberryConfig.scalar_map, gateway/schema.py).
DECIMAL = strawberry.scalar(
    name="Decimal",
    description='A finite decimal number as a string, e.g. "1234.50".',
    serialize=_serialize,
    parse_value=_parse,
)


def _refuse(field: str, error: ValueError) -> BadUserInput:
    return BadUserInput(
        f"{field}: {error}", fieldViolations=[{"field": field, "description": str(error)}]
    )


def quantity(value: decimal.Decimal, field: str) -> str:
    """Hours, a rate or a percentage, as the decimal string the services parse."""
    try:
        return str(bounded_quantity(value))
    except ValueError as error:
        raise _refuse(field, error) from None


def optional_quantity(value: decimal.Decimal | None, field: str) -> str:
    return "" if value is None else quantity(value, field)


def money_input(
    amount: decimal.Decimal, currency: str, field: str, *, currency_field: str = "currency"
) -> money_pb2.Money:
    """An amount in a currency, bounded by the currency's minor units before it is converted."""
    if not is_currency(currency):
        raise BadUserInput(
            f"{currency!r} is not an ISO 4217 currency",
            fieldViolations=[{"field": currency_field, "description": "unknown currency"}],
        )
    try:
        bounded = bounded_amount(amount, currency)
    except ValueError as error:
        raise _refuse(field, error) from None
    return money_to_proto(Money(bounded, currency))
