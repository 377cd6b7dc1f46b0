"""The approval gate over gRPC (DESIGN.md §9): request -> use case -> response."""

from __future__ import annotations

from typing import Any

from mesh.requests import parse_id
from services.project.convert.responses import engagement_to_proto
from services.project.handlers import Transact
from services.project.handlers.engagements import approve_engagement
from weftwork.project.v1 import project_service_pb2 as pb


class ApprovalApi:
    transact: Transact

    async def ApproveEngagement(
        self, request: pb.ApproveEngagementRequest, context: Any
    ) -> pb.ApproveEngagementResponse:
        engagement_id = parse_id(request.id, "id")
        approved = await self.transact(lambda r: approve_engagement(r, engagement_id))
        return pb.ApproveEngagementResponse(engagement=engagement_to_proto(approved))
