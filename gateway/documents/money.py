"""Amounts and dates as a document prints them: Decimal to the currency's minor unit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mesh.money import minor_unit, round_amount

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MINUS = "\u2212"  # a real minus sign, as wide as the digits


def amount_text(amount: Decimal, currency: str) -> str:
    """1234.5 EUR -> '1,234.50'; JPY has no decimals, KWD three; negatives get a minus sign."""
    rounded = round_amount(amount, currency)
    text = f"{abs(rounded):,.{minor_unit(currency)}f}"
    return f"{MINUS}{text}" if rounded < 0 else text


def money_text(amount: Decimal, currency: str) -> str:
    return f"{amount_text(amount, currency)} {currency}"


def quantity_text(quantity: Decimal) -> str:
    """Hours as entered, without trailing zeros: 7.50 -> '7.5', 8.00 -> '8'."""
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def date_text(day: dt.date | None) -> str:
    """Unambiguous in every country: 2 March 2026."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}" if day else ""
