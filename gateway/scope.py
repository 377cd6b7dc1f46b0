"""Entity scoping: what a caller may read and change, checked before any service is called."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.auth import Principal
from gateway.context import Context
from gateway.errors import Forbidden, NotFound


def list_scope(principal: Principal, requested: str | None) -> list[str]:
    """The legal entities a list may show: the one asked for, or all in scope ([] = every one)."""
    if requested:
        if not principal.sees(requested):
            raise Forbidden(f"legal entity {requested} is outside your scope")
        return [requested]
    return sorted(principal.entities) if principal.entities is not None else []


async def engagement_entities(context: Context, engagement_ids: Iterable[str]) -> list[str]:
    """The legal entities of the engagements a write touches (unknown ids are NOT_FOUND)."""
    ids = list(dict.fromkeys(engagement_ids))
    found = await context.loaders.engagements.load_many(ids)
    missing = [i for i, e in zip(ids, found, strict=True) if e is None]
    if missing:
        raise NotFound(f"engagement {missing[0]} not found")
    return sorted({e.legal_entity for e in found if e is not None})


async def require_on_engagements(
    context: Context, operation: str, engagement_ids: Iterable[str]
) -> None:
    context.principal.require(operation)  # role first: no lookups for a caller who may not
    context.principal.require(operation, *await engagement_entities(context, engagement_ids))
