"""Billing's request fields, parsed with field-precise errors (DESIGN.md §2, §6)."""

from __future__ import annotations

import uuid

from google.type import money_pb2

from mesh import requests
from mesh.errors import InvalidArgument
from mesh.money import Money, is_currency


def parse_id(value: str, field: str, kind: str = "invoice") -> uuid.UUID:
    return requests.parse_id(value, field, kind=f"an {kind} id")


def parse_ids(values: list[str], field: str, kind: str = "invoice") -> list[uuid.UUID]:
    return requests.parse_ids(values, field, kind=f"an {kind} id")


def parse_money(message: money_pb2.Money, field: str) -> Money:
    """As sent, bounded (DESIGN.md §6): rounding it would hide a mistake, so the use case
    checks the minor unit of the invoice's currency."""
    if not is_currency(message.currency_code):
        raise InvalidArgument.one(f"{field}.currency_code", "must be an ISO 4217 currency code")
    return requests.required_money(message, field)
