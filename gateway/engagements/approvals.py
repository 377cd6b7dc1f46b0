"""The approval gate (DESIGN.md §9): finance or an admin activates a PENDING_APPROVAL engagement."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.engagements.view import Engagement
from gateway.errors import call
from gateway.scope import engagements_in_scope
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class ApprovalMutations:
    @strawberry.mutation(
        description="Commercial approval: a PENDING_APPROVAL engagement becomes ACTIVE, and "
        "billing and revenue set it up (finance, admin). Approving an ACTIVE one is a no-op."
    )
    async def approve_engagement(self, info: Info, id: strawberry.ID) -> Engagement:
        await engagements_in_scope(info.context, "approveEngagement", [str(id)])
        answer = await call(
            "project",
            info.context.clients.project.ApproveEngagement(pb.ApproveEngagementRequest(id=str(id))),
        )
        return Engagement.from_proto(answer.engagement)
