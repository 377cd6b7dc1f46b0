"""rejectExpenses over real gRPC and PostgreSQL (DESIGN.md §9): SUBMITTED expenses are turned
down with a reason; approved ones are immutable; every refusal writes nothing."""

from __future__ import annotations

import uuid

import grpc

from tests.integration.test_project_grpc import (
    START,
    Running,
    counts,
    day,
    engagement,
    money,
    running,
    stream_events,
)
from tests.support import rpc_error
from weftwork.project.v1 import project_service_pb2 as pb

__all__ = ["running"]  # the shared module fixture


def expense(e: pb.Engagement, external_id: str = "") -> pb.SubmitExpenseRequest:
    return pb.SubmitExpenseRequest(
        engagement_id=e.id,
        person_id="p-ada",
        date=day(START),
        amount=money("120.00"),
        category="travel",
        billable=True,
        external_id=external_id,
    )


async def submitted(r: Running, e: pb.Engagement, external_id: str = "") -> pb.Expense:
    answer: pb.SubmitExpenseResponse = await r.project.SubmitExpense(expense(e, external_id))
    return answer.expense


async def test_submitted_expenses_are_rejected_with_a_reason_once(running: Running) -> None:
    e = await engagement(running)
    first, second = await submitted(running, e), await submitted(running, e)
    ids = [first.id, second.id]
    answer = await running.project.RejectExpenses(
        pb.RejectExpensesRequest(ids=ids, reason="No receipt")
    )
    assert [(x.id, x.status, x.rejection_reason) for x in answer.expenses] == [
        (i, pb.EXPENSE_STATUS_REJECTED, "No receipt") for i in ids
    ]
    assert all(
        x.HasField("reject_time") and not x.HasField("billable_amount") for x in answer.expenses
    )
    again = await running.project.RejectExpenses(
        pb.RejectExpensesRequest(ids=ids, reason="Another reason")
    )
    assert again.expenses == answer.expenses  # a retry changes nothing
    listed = await running.project.ListExpenses(
        pb.ListExpensesRequest(engagement_id=e.id, status=pb.EXPENSE_STATUS_REJECTED)
    )
    assert sorted(x.id for x in listed.expenses) == sorted(ids)
    # Nothing is billed or recognized: no expense.approved on the stream.
    subjects = [m.subject for m in await stream_events(running, e.id)]
    assert subjects == ["weftwork.project.engagement.activated.v1"]


async def test_approved_and_rejected_expenses_refuse_the_other_decision(running: Running) -> None:
    e = await engagement(running)
    approved, pending = await submitted(running, e), await submitted(running, e)
    rejected = await submitted(running, e, external_id=f"x-{uuid.uuid4().hex[:6]}")
    await running.project.ApproveExpenses(pb.ApproveExpensesRequest(ids=[approved.id]))
    await running.project.RejectExpenses(
        pb.RejectExpensesRequest(ids=[rejected.id], reason="Duplicate")
    )
    before = await counts(running.db)
    refusals = [
        running.project.RejectExpenses(
            pb.RejectExpensesRequest(ids=[pending.id, approved.id], reason="Late")
        ),
        running.project.ApproveExpenses(pb.ApproveExpensesRequest(ids=[pending.id, rejected.id])),
        # The PSA's correction of a rejected expense is refused like one of an approved one.
        running.project.SubmitExpense(
            pb.SubmitExpenseRequest(
                **{
                    **{f.name: v for f, v in expense(e, rejected.external_id).ListFields()},
                    "amount": money("80.00"),
                }
            )
        ),
    ]
    for refused in refusals:
        code, message, _ = await rpc_error(refused)
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert "nothing was changed" in message
    assert await counts(running.db) == before
    found = await running.project.BatchGetExpenses(pb.BatchGetExpensesRequest(ids=[pending.id]))
    assert found.expenses[0].status == pb.EXPENSE_STATUS_SUBMITTED


async def test_a_rejection_needs_a_reason_and_known_expenses(running: Running) -> None:
    e = await engagement(running)
    x = await submitted(running, e)
    before = await counts(running.db)
    code, _, violations = await rpc_error(
        running.project.RejectExpenses(pb.RejectExpensesRequest(ids=[x.id], reason="  "))
    )
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, ["reason"])
    code, _, _ = await rpc_error(
        running.project.RejectExpenses(
            pb.RejectExpensesRequest(ids=[x.id, str(uuid.uuid4())], reason="Why")
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert await counts(running.db) == before
