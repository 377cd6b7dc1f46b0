"""AuditService: this service's audit entries, oldest first, filtered and paged (mesh.paging)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from mesh.audit.scope import MAX_VALUE
from mesh.errors import InvalidArgument
from mesh.grpc.convert import timestamp_to_proto
from mesh.paging import decode_token, encode_token, page_limit, split_page
from weftwork.mesh.v1 import audit_service_pb2 as pb
from weftwork.mesh.v1 import audit_service_pb2_grpc as pb_grpc

FULL_NAME = pb.DESCRIPTOR.services_by_name["AuditService"].full_name
_LIST = "audit"

_SELECT = """
SELECT seq, at, actor, on_behalf_of, operation, targets, engagement_ids, request_id, event_id
  FROM audit_log
 WHERE ($1::timestamptz IS NULL OR (at, seq) > ($1, $2::bigint))
   AND ($3::text IS NULL OR $3 = ANY(engagement_ids))
   AND ($4::text IS NULL OR actor = $4 OR on_behalf_of = $4)
   AND ($5::timestamptz IS NULL OR at >= $5)
   AND ($6::timestamptz IS NULL OR at < $6)
 ORDER BY at, seq
 LIMIT $7"""


class AuditServicer(pb_grpc.AuditServiceServicer):
    def __init__(self, pool: asyncpg.Pool, service: str) -> None:
        self.pool = pool
        self.service = service

    async def ListAuditEntries(
        self, request: pb.ListAuditEntriesRequest, context: Any
    ) -> pb.ListAuditEntriesResponse:
        limit = page_limit(request.page_size)
        for name in ("engagement_id", "actor"):
            value = getattr(request, name)
            if len(value) > MAX_VALUE or "\x00" in value:
                raise InvalidArgument.one(name, f"must be at most {MAX_VALUE} characters, no NUL")
        cursor = decode_token(_LIST, request.page_token, (datetime.fromisoformat, int))
        after, after_seq = cursor if cursor is not None else (None, None)
        rows = await self.pool.fetch(
            _SELECT,
            after,
            after_seq,
            request.engagement_id or None,
            request.actor or None,
            _time(request, "from"),
            _time(request, "to"),
            limit + 1,
        )
        page, last = split_page(rows, limit)
        return pb.ListAuditEntriesResponse(
            entries=[self._entry(r) for r in page],
            next_page_token=encode_token(
                _LIST, None if last is None else (last["at"].isoformat(), last["seq"])
            ),
        )

    def _entry(self, r: asyncpg.Record) -> pb.AuditEntry:
        return pb.AuditEntry(
            seq=r["seq"],
            time=timestamp_to_proto(r["at"]),
            service=self.service,
            actor=r["actor"],
            on_behalf_of=r["on_behalf_of"] or "",
            operation=r["operation"],
            targets=r["targets"],
            engagement_ids=r["engagement_ids"],
            request_id=r["request_id"] or "",
            event_id="" if r["event_id"] is None else str(r["event_id"]),
        )


def _time(request: pb.ListAuditEntriesRequest, name: Literal["from", "to"]) -> datetime | None:
    if not request.HasField(name):
        return None
    value: datetime = getattr(request, name).ToDatetime(UTC)
    return value
