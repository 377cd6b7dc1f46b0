"""Relay-style connections over the services' page tokens.

A service returns pages and an opaque token for the next one. Each edge's cursor names the
page it came from and its position there, so `after` may be any edge, not only the last.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from gateway.errors import BadUserInput

T = TypeVar("T")
MAX_FIRST = 100
DEFAULT_FIRST = 20

FetchPage = Callable[[int, str], Awaitable[tuple[Sequence[T], str]]]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


@dataclass(frozen=True)
class _Cursor:
    page_token: str
    index: int  # position within the page that starts at page_token

    def encode(self) -> str:
        return base64.urlsafe_b64encode(json.dumps([self.page_token, self.index]).encode()).decode()

    @classmethod
    def decode(cls, raw: str) -> _Cursor:
        try:
            token, index = json.loads(base64.urlsafe_b64decode(raw.encode()))
            if not isinstance(token, str) or not isinstance(index, int) or index < 0:
                raise ValueError(raw)
        except ValueError:
            raise BadUserInput(
                "after is not a cursor of this list",
                fieldViolations=[{"field": "after", "description": "not a cursor of this list"}],
            ) from None
        return cls(token, index)


def check_first(first: int | None) -> int:
    if first is None:
        return DEFAULT_FIRST
    if not 1 <= first <= MAX_FIRST:
        raise BadUserInput(
            f"first must be between 1 and {MAX_FIRST}",
            fieldViolations=[
                {"field": "first", "description": f"must be between 1 and {MAX_FIRST}"}
            ],
        )
    return first


async def paginate(fetch: FetchPage[T], *, first: int | None, after: str | None) -> Connection[T]:
    """Up to `first` nodes after the cursor, fetching as many service pages as that takes."""
    wanted = check_first(first)
    cursor = _Cursor.decode(after) if after else None
    token, skip = (cursor.page_token, cursor.index + 1) if cursor else ("", 0)
    edges: list[Edge[T]] = []
    while True:
        items, next_token = await fetch(min(MAX_FIRST, skip + wanted - len(edges)), token)
        taken = list(items[skip : skip + wanted - len(edges)])
        edges += [
            Edge(node=node, cursor=_Cursor(token, skip + i).encode())
            for i, node in enumerate(taken)
        ]
        if len(edges) == wanted or not next_token:
            has_next = len(items) > skip + len(taken) or bool(next_token)
            break
        token, skip = next_token, 0
    end = edges[-1].cursor if edges else None
    return Connection(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end))
