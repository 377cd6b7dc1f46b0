"""IntegrationService: a service's outbox backlog and dead letters, for status pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from mesh.errors import InvalidArgument
from mesh.events.deadletters import DeadLetter, discard, list_dead_letters, replay
from mesh.events.outbox import backlog
from weftwork.mesh.v1 import integration_service_pb2 as pb
from weftwork.mesh.v1 import integration_service_pb2_grpc as pb_grpc

FULL_NAME = pb.DESCRIPTOR.services_by_name["IntegrationService"].full_name


class IntegrationServicer(pb_grpc.IntegrationServiceServicer):
    def __init__(self, pool: asyncpg.Pool, service: str) -> None:
        self.pool = pool
        self.service = service

    async def GetIntegrationStatus(
        self, request: pb.GetIntegrationStatusRequest, context: Any
    ) -> pb.GetIntegrationStatusResponse:
        waiting = await backlog(self.pool)
        rows = await self.pool.fetch(
            """SELECT consumer,
                      count(*) FILTER (WHERE status = 'pending') AS pending,
                      count(*) FILTER (WHERE status = 'replay_requested') AS replay_requested
                 FROM dead_letters
                WHERE status IN ('pending', 'replay_requested')
                GROUP BY consumer
                ORDER BY consumer"""
        )
        return pb.GetIntegrationStatusResponse(
            service=self.service,
            outbox_unpublished=waiting.unpublished,
            outbox_oldest_age_seconds=waiting.oldest_age_seconds,
            dead_letters=[
                pb.DeadLetterCount(
                    consumer=r["consumer"],
                    pending=r["pending"],
                    replay_requested=r["replay_requested"],
                )
                for r in rows
            ],
        )

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: Any
    ) -> pb.ListDeadLettersResponse:
        size = min(request.page_size or 100, 500)
        consumer = request.consumer or None
        found = [
            d
            for status in ("pending", "replay_requested")
            for d in await list_dead_letters(
                self.pool, consumer=consumer, status=status, limit=size
            )
        ]
        found.sort(key=lambda d: (d.created_at, d.id))
        return pb.ListDeadLettersResponse(dead_letters=[_dead_letter(d) for d in found[:size]])

    async def ReplayDeadLetters(
        self, request: pb.ReplayDeadLettersRequest, context: Any
    ) -> pb.ReplayDeadLettersResponse:
        return pb.ReplayDeadLettersResponse(changed=await replay(self.pool, _ids(request.ids)))

    async def DiscardDeadLetters(
        self, request: pb.DiscardDeadLettersRequest, context: Any
    ) -> pb.DiscardDeadLettersResponse:
        return pb.DiscardDeadLettersResponse(changed=await discard(self.pool, _ids(request.ids)))


def _ids(ids: Sequence[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(i) for i in ids]
    except ValueError:
        raise InvalidArgument.one("ids", "dead letter ids are UUIDs") from None


def _dead_letter(d: DeadLetter) -> pb.DeadLetter:
    created = Timestamp()
    created.FromDatetime(d.created_at)
    return pb.DeadLetter(
        id=str(d.id),
        consumer=d.consumer,
        stream=d.stream,
        subject=d.subject,
        event_id=str(d.event_id) if d.event_id else "",
        error=d.error,
        deliveries=d.deliveries,
        status=d.status,
        create_time=created,
    )
