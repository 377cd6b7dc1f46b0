"""The project service's use cases, one module per area; each runs inside one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from mesh.errors import InvalidArgument

R = TypeVar("R")


def page_limit(page_size: int, *, default: int, maximum: int) -> int:
    if page_size < 0 or page_size > maximum:
        raise InvalidArgument.one("page_size", f"must be between 1 and {maximum}")
    return page_size or default


def split_page(rows: Sequence[R], limit: int) -> tuple[list[R], R | None]:
    """The page (rows were fetched with limit + 1) and its last row when more follow."""
    page = list(rows[:limit])
    return page, (page[-1] if len(rows) > limit and page else None)
