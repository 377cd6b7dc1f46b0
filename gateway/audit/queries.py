"""auditLog: the five services' audit entries merged by time, for finance and admin, scoped.

The cursor holds, for each service, the page token just after the last entry this list has
consumed from it, so a page can end anywhere and the next one starts from each service where
it stopped. A caller scoped to some legal entities sees only entries whose engagements are all
theirs (entries about no engagement, such as a customer's, need every entity); entries hidden
from them are consumed without being shown, at most SCAN_LIMIT per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
from typing import Annotated

import strawberry

from gateway.audit.types import AuditEntry
from gateway.context import Info
from gateway.errors import BadUserInput, call
from gateway.pagination import MAX_FIRST, Connection, Edge, PageInfo, check_first
from gateway.scope import visible_engagements
from mesh.paging import encode_token
from weftwork.mesh.v1 import audit_service_pb2 as pb

READERS = frozenset({"finance", "admin"})
SCAN_LIMIT = 1000  # entries read per request at most, shown or hidden
_KIND = "auditLog"


def _encode(state: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps([_KIND, state]).encode()).decode()


def _decode(raw: str, services: list[str]) -> dict[str, str]:
    try:
        kind, state = json.loads(base64.urlsafe_b64decode(raw.encode()))
        if kind != _KIND or not isinstance(state, dict) or set(state) - set(services):
            raise ValueError(raw)
        if not all(isinstance(v, str) and len(v) <= 1024 for v in state.values()):
            raise ValueError(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput(
            "after is not a cursor of this list",
            fieldViolations=[{"field": "after", "description": "not a cursor of this list"}],
        ) from None
    return {s: state.get(s, "") for s in services}


def _after(entry: pb.AuditEntry) -> str:
    """The service's own page token for the position just after `entry` (mesh.audit.service)."""
    return encode_token("audit", (entry.time.ToDatetime(dt.UTC).isoformat(), entry.seq))


class _Merge:
    """One service page at a time from each service, taken in (time, service, seq) order."""

    def __init__(self, info: Info, request: pb.ListAuditEntriesRequest, state: dict[str, str]):
        self.info = info
        self.request = request
        self.state = state
        self.buffers: dict[str, list[pb.AuditEntry]] = {s: [] for s in state}
        self.more = dict.fromkeys(state, True)

    async def _fill(self, service: str) -> None:
        request = pb.ListAuditEntriesRequest()
        request.CopyFrom(self.request)
        request.page_token = self.state[service]
        stub = self.info.context.clients.audit[service]
        page = await call(service, stub.ListAuditEntries(request))
        self.buffers[service] = list(page.entries)
        self.more[service] = bool(page.next_page_token)
        if self.info.context.principal.entities is not None:
            # One lookup for the page's engagements; _visible then reads the loader's cache.
            named = {i for e in page.entries for i in e.engagement_ids}
            await visible_engagements(self.info.context, named)

    async def next(self) -> pb.AuditEntry | None:
        empty = [s for s, b in self.buffers.items() if not b and self.more[s]]
        await asyncio.gather(*(self._fill(s) for s in empty))
        heads = [(b[0].time.ToDatetime(), s, b[0].seq) for s, b in self.buffers.items() if b]
        if not heads:
            return None
        _, service, _ = min(heads)
        entry = self.buffers[service].pop(0)
        self.state[service] = _after(entry)
        return entry

    def exhausted(self) -> bool:
        return not any(self.buffers.values()) and not any(self.more.values())


async def _visible(info: Info, entry: pb.AuditEntry) -> bool:
    principal = info.context.principal
    if principal.entities is None:
        return True
    if not entry.engagement_ids:
        return False
    found = await visible_engagements(info.context, entry.engagement_ids)
    return all(e is not None for e in found.values())


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="Who changed what, oldest first, across every service (finance, admin); "
        "scoped to the caller's legal entities. `from` inclusive, `to` exclusive."
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        engagement_id: strawberry.ID | None = None,
        actor: str | None = None,
        from_: Annotated[dt.datetime | None, strawberry.argument(name="from")] = None,
        to: dt.datetime | None = None,
    ) -> Connection[AuditEntry]:
        principal = info.context.principal
        principal.require_role("auditLog", READERS)
        wanted = check_first(first)
        services = list(info.context.clients.audit)
        state = _decode(after, services) if after else dict.fromkeys(services, "")
        if engagement_id is not None:
            visible = await visible_engagements(info.context, [str(engagement_id)])
            if visible[str(engagement_id)] is None:  # outside the caller's scope: nothing
                return Connection(
                    edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None)
                )
        request = pb.ListAuditEntriesRequest(
            page_size=MAX_FIRST if principal.entities is not None else wanted,
            engagement_id=str(engagement_id or ""),
            actor=actor or "",
        )
        for name, moment in (("from", from_), ("to", to)):
            if moment is not None:
                getattr(request, name).FromDatetime(_utc(moment))
        merge = _Merge(info, request, state)
        edges: list[Edge[AuditEntry]] = []
        scanned = 0
        while len(edges) < wanted and scanned < SCAN_LIMIT:
            entry = await merge.next()
            if entry is None:
                break
            scanned += 1
            if await _visible(info, entry):
                edges.append(Edge(node=AuditEntry.from_proto(entry), cursor=_encode(merge.state)))
        has_next = not merge.exhausted()
        # Hidden entries may follow the last edge: the end cursor is after all that was read.
        end = _encode(merge.state) if edges or has_next else None
        return Connection(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end))


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
