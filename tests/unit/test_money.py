"""Money rounds half-up per ISO 4217 minor unit and never mixes currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.grpc.convert import money_from_proto, money_to_proto
from mesh.money import (
    CurrencyMismatch,
    Money,
    bounded_amount,
    bounded_quantity,
    minor_unit,
    parse_decimal,
    total,
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.675", "USD", "2.68"),  # half-up, not banker's rounding
        ("2.665", "EUR", "2.67"),
        ("-2.675", "GBP", "-2.68"),  # half away from zero for credits too
        ("1234.5", "JPY", "1235"),
        ("1.2345", "KWD", "1.235"),
        ("0.0005", "BHD", "0.001"),
    ],
)
def test_amounts_round_half_up_to_the_currency_minor_unit(
    amount: str, currency: str, expected: str
) -> None:
    assert Money.of(amount, currency).amount == Decimal(expected)
    assert str(Money.of(amount, currency).amount) == expected


def test_minor_units_follow_iso_4217() -> None:
    assert [minor_unit(c) for c in ("JPY", "USD", "EUR", "GBP", "BHD", "KWD")] == [0, 2, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="unknown currency"):
        minor_unit("XYZ")


def test_currencies_are_never_added_together() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money.of(1, "USD") + Money.of(1, "EUR")
    with pytest.raises(CurrencyMismatch):
        total([Money.of(1, "USD"), Money.of(1, "GBP")], "USD")


def test_a_total_is_the_sum_of_rounded_lines() -> None:
    lines = [Money.of(Decimal("0.333") * 1, "USD") for _ in range(3)]
    assert total(lines, "USD").amount == Decimal("0.99")


@pytest.mark.parametrize("text", ["", "abc", "NaN", "Infinity", "1,5"])
def test_decimal_strings_must_be_finite_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_decimal(text)


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=3, allow_nan=False),
    st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_google_money_round_trips_exactly(amount: Decimal, currency: str) -> None:
    money = Money.of(amount, currency)
    assert money_from_proto(money_to_proto(money)).amount == money.amount


@pytest.mark.parametrize(
    "text", ["1E+999999999", "NaN", "sNaN", "Infinity", "-Infinity", "1e400", "1000000000000000"]
)
def test_unbounded_or_infinite_amounts_are_refused_before_any_arithmetic(text: str) -> None:
    with pytest.raises(ValueError, match=r"finite|digits before"):
        bounded_amount(Decimal(text), "USD")


def test_amounts_keep_at_most_the_currency_minor_units() -> None:
    assert bounded_amount(Decimal("999999999999999.99"), "USD") == Decimal("999999999999999.99")
    assert bounded_amount(Decimal("1.500"), "USD") == Decimal("1.5")
    assert str(bounded_amount(Decimal("1E+2"), "JPY")) == "100"
    assert bounded_amount(Decimal("0E-999999999"), "USD") == 0
    with pytest.raises(ValueError, match="2 decimal places"):
        bounded_amount(Decimal("1.005"), "USD")
    with pytest.raises(ValueError, match="0 decimal places"):
        bounded_amount(Decimal("1.5"), "JPY")


def test_quantities_have_nine_integer_digits_and_six_decimals() -> None:
    assert bounded_quantity(Decimal("999999999.999999")) == Decimal("999999999.999999")
    for text in ("1000000000", "0.0000001", "NaN"):
        with pytest.raises(ValueError, match=r"finite|digits before|decimal places"):
            bounded_quantity(Decimal(text))


def test_decimal_text_longer_than_any_bounded_value_is_refused_unparsed() -> None:
    with pytest.raises(ValueError, match="64 characters"):
        parse_decimal("1" * 10_000)
