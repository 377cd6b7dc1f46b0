"""LineageService: the events a service produced for one engagement, from its lineage table.

`published` comes from the outbox row while it exists; a lineage row whose outbox row is gone
was published (only published rows are ever pruned from the outbox).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from mesh.errors import InvalidArgument
from mesh.grpc.convert import timestamp_to_proto
from weftwork.mesh.v1 import lineage_service_pb2 as pb
from weftwork.mesh.v1 import lineage_service_pb2_grpc as pb_grpc

MAX_PAGE = 500
FULL_NAME = pb.DESCRIPTOR.services_by_name["LineageService"].full_name


class LineageServicer(pb_grpc.LineageServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ListEngagementEvents(
        self, request: pb.ListEngagementEventsRequest, context: Any
    ) -> pb.ListEngagementEventsResponse:
        if not request.engagement_id:
            raise InvalidArgument.one("engagement_id", "is required")
        if not 0 <= request.page_size <= MAX_PAGE:
            raise InvalidArgument.one("page_size", f"must be between 1 and {MAX_PAGE}")
        if request.page_token and not request.page_token.isdigit():
            raise InvalidArgument.one("page_token", "is not a token this service issued")
        size = request.page_size or 100
        rows = await self.pool.fetch(
            """SELECT l.event_id, l.subject, l.source, l.aggregate_id, l.aggregate_version,
                      l.created_at, l.seq, l.actor, l.on_behalf_of,
                      o.id IS NULL OR o.published_at IS NOT NULL AS published
                 FROM lineage l
                 LEFT JOIN outbox o ON o.id = l.event_id
                WHERE l.engagement_id = $1 AND l.seq > $2
                ORDER BY l.seq
                LIMIT $3""",
            request.engagement_id,
            int(request.page_token or 0),
            size + 1,
        )
        more = len(rows) > size
        rows = rows[:size]
        return pb.ListEngagementEventsResponse(
            events=[
                pb.LineageEvent(
                    id=str(r["event_id"]),
                    type=r["subject"],
                    source=r["source"],
                    aggregate_id=r["aggregate_id"],
                    aggregate_version=r["aggregate_version"],
                    time=timestamp_to_proto(r["created_at"]),
                    published=r["published"],
                    actor=r["actor"] or "",
                    on_behalf_of=r["on_behalf_of"] or "",
                )
                for r in rows
            ],
            next_page_token=str(rows[-1]["seq"]) if more and rows else "",
        )
