"""Shared GraphQL types and the conversions from protobuf values (Money, Date, decimals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from google.type import date_pb2, money_pb2

from mesh.grpc.convert import date_to_proto, money_from_proto
from mesh.money import round_amount


@strawberry.type(description="An amount in one currency; never summed across currencies.")
class Money:
    amount: Decimal
    currency: str


def money(message: money_pb2.Money | None) -> Money | None:
    if message is None or not message.currency_code:
        return None
    value = money_from_proto(message)
    return Money(amount=round_amount(value.amount, value.currency), currency=value.currency)


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
