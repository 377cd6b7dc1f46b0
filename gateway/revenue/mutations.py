"""closePeriod: finance locks a month of one legal entity."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.errors import call
from gateway.revenue.types import Period
from weftwork.revenue.v1 import revenue_service_pb2 as pb


@strawberry.type
class RevenueMutations:
    @strawberry.mutation(
        description="Close a period (YYYY-MM); later postings for it move forward."
    )
    async def close_period(self, info: Info, legal_entity: str, period: str) -> Period:
        info.context.principal.require("closePeriod", legal_entity)
        answer = await call(
            "revenue",
            info.context.clients.revenue.ClosePeriod(
                pb.ClosePeriodRequest(legal_entity=legal_entity, period=period)
            ),
        )
        return Period.from_proto(answer.period)
