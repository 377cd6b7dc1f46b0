"""Entity scoping: what a caller may read and change, checked before any service is called.

Outside the caller's legal entities an object does not exist for them: a write that names one
by id is NOT_FOUND with the same words as a missing one, so no answer tells who owns what.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.auth import Principal
from gateway.context import Context
from gateway.errors import Forbidden, NotFound
from weftwork.project.v1 import project_service_pb2 as pb


def list_scope(principal: Principal, requested: str | None) -> list[str]:
    """The legal entities a list may show: the one asked for, or all in scope ([] = every one)."""
    if requested:
        if not principal.sees(requested):
            raise Forbidden(f"legal entity {requested} is outside your scope")
        return [requested]
    return sorted(principal.entities) if principal.entities is not None else []


async def visible_engagements(
    context: Context, engagement_ids: Iterable[str]
) -> dict[str, pb.Engagement | None]:
    """Each engagement by id; None when missing or outside the caller's entities (alike)."""
    ids = list(dict.fromkeys(engagement_ids))
    found = await context.loaders.engagements.load_many(ids)
    principal = context.principal
    return {
        i: e if e is not None and principal.sees(e.legal_entity) else None
        for i, e in zip(ids, found, strict=True)
    }


async def engagements_in_scope(
    context: Context, operation: str, engagement_ids: Iterable[str]
) -> list[pb.Engagement]:
    """The engagements a write names, after the role check; NOT_FOUND for any it may not see."""
    context.principal.require(operation)  # role first: no lookups for a caller who may not
    visible = await visible_engagements(context, engagement_ids)
    missing = next((i for i, e in visible.items() if e is None), None)
    if missing is not None:
        raise NotFound(f"engagement {missing} not found")
    return [e for e in visible.values() if e is not None]


async def require_visible(
    context: Context, kind: str, owners: dict[str, str], wanted: Iterable[str]
) -> None:
    """Objects of `kind` by id, each owned by an engagement: NOT_FOUND for one that is missing
    (absent from `owners`) or whose engagement the caller may not see, in the same words."""
    wanted = [str(i) for i in wanted]
    visible = await visible_engagements(context, owners.values())
    for object_id in wanted:
        owner = owners.get(object_id)
        if owner is None or visible.get(owner) is None:
            raise NotFound(f"{kind} {object_id} not found")
