"""The one money type: Decimal amounts rounded half-up to the currency's ISO 4217 minor unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pycountry

# ISO 4217 minor units that differ from the usual two decimals.
_EXPONENTS = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
_KNOWN = frozenset(c.alpha_3 for c in pycountry.currencies)


class CurrencyMismatch(ValueError):
    """Amounts in different currencies were about to be combined."""


def is_currency(code: str) -> bool:
    return code in _KNOWN


def minor_unit(currency: str) -> int:
    if currency not in _KNOWN:
        raise ValueError(f"unknown currency {currency!r}")
    return _EXPONENTS.get(currency, 2)


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (JPY 0, USD 2, KWD 3 decimals)."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


# Bounds of every number that enters (DESIGN.md §6), checked before any arithmetic: an
# unbounded exponent ("1E+999999999") makes int() or quantize() run for minutes.
MONEY_INTEGER_DIGITS = 15
QUANTITY_INTEGER_DIGITS = 9  # hours, rates, percentages
QUANTITY_DECIMALS = 6
_MAX_TEXT = 64  # characters of a decimal's text form: far more than any bounded value needs


def parse_decimal(text: str) -> Decimal:
    """A finite decimal from its string form; raises ValueError on anything else."""
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise ValueError("is not a decimal number of at most 64 characters")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _check_bounds(value: Decimal, integer_digits: int, decimals: int) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if not value:
        return Decimal(0)  # "0E-999999999" is zero too
    if value.adjusted() >= integer_digits:
        raise ValueError(f"must have at most {integer_digits} digits before the decimal point")
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if -(exponent + trailing_zeros) > decimals:
        raise ValueError(f"must have at most {decimals} decimal places")
    return value if exponent <= 0 else value.quantize(Decimal(1))  # "1E+2" -> "100"


def bounded_amount(value: Decimal, currency: str) -> Decimal:
    """A money amount: finite, at most 15 integer digits and the currency's minor units."""
    return _check_bounds(value, MONEY_INTEGER_DIGITS, minor_unit(currency))


def bounded_quantity(value: Decimal) -> Decimal:
    """Hours, rates and percentages: finite, at most 9 integer digits and 6 decimals."""
    return _check_bounds(value, QUANTITY_INTEGER_DIGITS, QUANTITY_DECIMALS)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """A rounded amount: each line is rounded once, here."""
        value = amount if isinstance(amount, Decimal) else Decimal(amount)
        return cls(round_amount(value, currency), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls.of(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, factor: Decimal) -> Money:
        """Multiply and round once to the minor unit."""
        return Money.of(self.amount * factor, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of already-rounded amounts of one currency; a stray currency raises."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
