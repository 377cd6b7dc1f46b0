"""Request fields every service parses the same way: ids, and batches of ids."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from mesh.errors import InvalidArgument

MAX_BATCH = 1000  # ids per batch read: the gateway's pages are at most 100


def parse_id(value: str, field: str, *, kind: str = "an id") -> uuid.UUID:
    """A UUID, or INVALID_ARGUMENT naming the field ("'x' is not an invoice id (a UUID)")."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument.one(field, f"{value[:64]!r} is not {kind} (a UUID)") from None


def parse_ids(
    values: Sequence[str], field: str, *, kind: str = "an id", limit: int = MAX_BATCH
) -> list[uuid.UUID]:
    if len(values) > limit:
        raise InvalidArgument.one(field, f"at most {limit} ids per call")
    return [parse_id(v, f"{field}[{i}]", kind=kind) for i, v in enumerate(values)]
