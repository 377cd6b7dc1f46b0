"""amendEngagement over gRPC: request -> use case (once per idempotency key) -> response."""

from __future__ import annotations

from typing import Any

from mesh.idempotency import once
from mesh.requests import parse_id
from services.project.convert.amendments import amendment_draft
from services.project.convert.responses import amendment_to_proto, engagement_to_proto
from services.project.handlers import ProjectRepository, Transact
from services.project.handlers.amendments import amend_engagement
from weftwork.project.v1 import project_service_pb2 as pb


class AmendmentApi:
    transact: Transact

    async def AmendEngagement(
        self, request: pb.AmendEngagementRequest, context: Any
    ) -> pb.AmendEngagementResponse:
        engagement_id = parse_id(request.id, "id")
        draft = amendment_draft(request)

        async def work(r: ProjectRepository) -> pb.AmendEngagementResponse:
            engagement, done = await amend_engagement(r, engagement_id, draft)
            return pb.AmendEngagementResponse(
                engagement=engagement_to_proto(engagement),
                amendment=amendment_to_proto(done.terms),
                warnings=list(done.warnings),
            )

        return await once(self.transact, request, pb.AmendEngagementResponse, work)
