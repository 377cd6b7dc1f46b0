"""One page-size rule and one page-token codec for every List… call of every service.

A page token is opaque to callers: the base64 of a JSON list of the list's name and the
cursor's parts as strings, so a token of one list is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mesh.errors import InvalidArgument

R = TypeVar("R")

MAX_PAGE_SIZE = 100  # the gateway's connections take `first` ≤ 100 (DESIGN.md §4)
DEFAULT_PAGE_SIZE = 50
_MAX_TOKEN = 1024  # characters; every cursor we issue is far shorter


def page_limit(
    page_size: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    """The rows to return: 0 (unset) means the default; outside 0..maximum is a mistake."""
    if not 0 <= page_size <= maximum:
        raise InvalidArgument.one("page_size", f"must be between 1 and {maximum}")
    return page_size or default


def split_page(rows: Sequence[R], limit: int) -> tuple[list[R], R | None]:
    """The page (rows were fetched with limit + 1) and its last row when more follow."""
    page = list(rows[:limit])
    return page, (page[-1] if len(rows) > limit and page else None)


def encode_token(kind: str, cursor: Sequence[object] | None) -> str:
    """The next_page_token of a cursor (its parts as strings); "" when the list is done."""
    if cursor is None:
        return ""
    return base64.urlsafe_b64encode(json.dumps([kind, *map(str, cursor)]).encode()).decode()


def decode_token(
    kind: str, token: str, parts: Sequence[Callable[[str], Any]]
) -> tuple[Any, ...] | None:
    """The cursor of a token this service issued for list `kind`, each part read by its
    parser (str, int, uuid.UUID, date.fromisoformat, …); None for no token."""
    if not token:
        return None
    try:
        if len(token) > _MAX_TOKEN:
            raise ValueError("too long")
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(decoded, list) or decoded[:1] != [kind]:
            raise ValueError("not this list's token")
        values = decoded[1:]
        if len(values) != len(parts) or not all(isinstance(v, str) for v in values):
            raise ValueError("wrong shape")
        return tuple(parse(value) for parse, value in zip(parts, values, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument.one("page_token", "is not a token this service issued") from None
