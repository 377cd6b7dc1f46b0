"""adjustTime (DESIGN.md §9): delivery corrects approved hours; history is never edited."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from gateway.context import Info
from gateway.engagements.view import TimeEntry
from gateway.errors import NotFound, call
from gateway.scope import engagements_in_scope
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class TimeAdjustment:
    original: TimeEntry
    reversal: TimeEntry | None = strawberry.field(description="Null when nothing changed.")
    replacement: TimeEntry | None
    changed: bool


@strawberry.type
class CorrectionMutations:
    @strawberry.mutation(
        description="Correct an APPROVED entry's hours: a reversal and a replacement at its "
        "rates, linked to it; billing bills and revenue recognizes the difference. The same "
        "hours is a no-op; a repeated idempotencyKey answers the first result."
    )
    async def adjust_time(
        self,
        info: Info,
        id: strawberry.ID,
        hours: Decimal,
        reason: str,
        idempotency_key: str | None = None,
    ) -> TimeAdjustment:
        info.context.principal.require("adjustTime")
        entry = await info.context.loaders.time_entries.load(str(id))
        if entry is None:
            raise NotFound(f"time entry {id} not found")
        await engagements_in_scope(info.context, "adjustTime", [entry.engagement_id])
        answer = await call(
            "project",
            info.context.clients.project.AdjustTime(
                pb.AdjustTimeRequest(
                    id=str(id),
                    hours=str(hours),
                    reason=reason,
                    idempotency_key=idempotency_key or "",
                )
            ),
        )
        return TimeAdjustment(
            original=TimeEntry.from_proto(answer.original),
            reversal=TimeEntry.from_proto(answer.reversal) if answer.changed else None,
            replacement=TimeEntry.from_proto(answer.replacement) if answer.changed else None,
            changed=answer.changed,
        )
