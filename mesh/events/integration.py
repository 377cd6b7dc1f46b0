"""IntegrationService: a service's outbox backlog and dead letters, for status pages."""

from __future__ import annotations

from typing import Any

import asyncpg

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
