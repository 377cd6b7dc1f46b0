"""A webhook request as the gateway hands it over, and the answers a sender can get."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class RawHook:
    source: str
    method: str
    url: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class HookAnswer:
    http_status: int
    content_type: str
    body: bytes
    accepted: int = 0
    duplicates: int = 0


class Refused(Exception):
    """The request is refused before anything is stored; the status says why."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(Refused):
    status = 401


class Forbidden(Refused):
    status = 403


class Unreadable(Refused):
    status = 400


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def read_json(body: bytes) -> Any:
    """JSON with every non-integer number kept as a Decimal, NaN and Infinity refused."""
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Unreadable(f"the body is not JSON: {str(exc)[:200]}") from None


def to_json(value: Any) -> Any:
    """Decimals back to strings, so a payload can be stored as JSON without losing digits."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value
