"""rejectExpenses (DESIGN.md §9): delivery turns down SUBMITTED expenses with a reason."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.engagements.types import Expense
from gateway.errors import NotFound, call
from gateway.scope import engagements_in_scope
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class ExpenseReviewMutations:
    @strawberry.mutation(
        description="Reject SUBMITTED expenses with a reason (all or nothing; an APPROVED one "
        "is a CONFLICT and nothing changes)."
    )
    async def reject_expenses(
        self, info: Info, ids: list[strawberry.ID], reason: str
    ) -> list[Expense]:
        info.context.principal.require("rejectExpenses")
        found = await call(
            "project",
            info.context.clients.project.BatchGetExpenses(
                pb.BatchGetExpensesRequest(ids=[str(i) for i in ids])
            ),
        )
        if found.missing_ids:
            raise NotFound(f"expense {found.missing_ids[0]} not found")
        await engagements_in_scope(
            info.context, "rejectExpenses", [e.engagement_id for e in found.expenses]
        )
        answer = await call(
            "project",
            info.context.clients.project.RejectExpenses(
                pb.RejectExpensesRequest(ids=[str(i) for i in ids], reason=reason)
            ),
        )
        return [Expense.from_proto(x) for x in answer.expenses]
