"""Shared GraphQL types and the conversions from protobuf values (Money, Date, decimals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from google.type import date_pb2, money_pb2

from mesh.grpc.convert import date_to_proto
from mesh.money import minor_unit, round_amount

_NANO = 10**9


@strawberry.type(description="An amount in one currency; never summed across currencies.")
class Money:
    amount: Decimal
    currency: str


def money(message: money_pb2.Money | None) -> Money | None:
    """The amount rounded half-up to the currency's minor unit, as `round_amount` would round
    `money_from_proto`'s value, but in integers: a page of 100 converts ~2,000 amounts, which
    are only printed (tests/unit/test_gateway_money.py compares the two)."""
    if message is None or not message.currency_code:
        return None
    currency = message.currency_code
    places = minor_unit(currency)
    nanos = message.units * _NANO + message.nanos
    step = 10 ** (9 - places)
    whole, rest = divmod(abs(nanos), step)
    if 2 * rest >= step:
        whole += 1
    sign = "-" if nanos < 0 else ""
    if places:
        units, fraction = divmod(whole, 10**places)
        text = f"{sign}{units}.{fraction:0{places}d}"
    else:
        text = f"{sign}{whole}"
    return Money(amount=Decimal(text), currency=currency)


def money_required(message: money_pb2.Money, currency: str) -> Money:
    return money(message) or Money(amount=round_amount(Decimal(0), currency), currency=currency)


def decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def date(message: date_pb2.Date | None) -> dt.date | None:
    if message is None or message.year == 0:
        return None
    return dt.date(message.year, message.month, message.day)


def date_input(value: dt.date | None) -> date_pb2.Date | None:
    return date_to_proto(value) if value is not None else None
