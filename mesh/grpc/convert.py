"""Conversions between kit types and the common protobuf types (Money, Date, Timestamp)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from google.protobuf import timestamp_pb2
from google.type import date_pb2, money_pb2

from mesh.money import Money

_NANO = Decimal(1_000_000_000)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND = dt.timedelta(seconds=1)


def money_to_proto(money: Money) -> money_pb2.Money:
    units = int(money.amount)  # truncates toward zero, as google.type.Money wants
    nanos = int((money.amount - units) * _NANO)
    return money_pb2.Money(currency_code=money.currency, units=units, nanos=nanos)


def money_from_proto(message: money_pb2.Money) -> Money:
    return Money(Decimal(message.units) + Decimal(message.nanos) / _NANO, message.currency_code)


def date_to_proto(value: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_proto(message: date_pb2.Date) -> dt.date:
    """Raises ValueError for an unset or impossible date."""
    return dt.date(message.year, message.month, message.day)


def timestamp_to_proto(value: dt.datetime) -> timestamp_pb2.Timestamp:
    """An aware datetime (asyncpg's timestamptz) to a Timestamp; built directly, because
    Timestamp.FromDatetime is several times slower and this runs per row of every list."""
    if value.tzinfo is None:  # taken as local time, as datetime.astimezone does
        value = value.astimezone(dt.UTC)
    seconds = (value - _EPOCH) // _SECOND
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=value.microsecond * 1000)
