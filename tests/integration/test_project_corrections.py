"""Keys used again (DESIGN.md §6) over real gRPC: the PSA's corrections replace what is still
SUBMITTED and conflict once decided; a close-won with other terms is a reused key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import grpc

from tests.integration.test_project_grpc import (
    START,
    Running,
    as_decimal,
    counts,
    day,
    decoded,
    engagement,
    entry,
    money,
    running,
    stream_events,
    won,
)
from tests.support import rpc_error
from weftwork.project.v1 import events_pb2
from weftwork.project.v1 import project_service_pb2 as pb

__all__ = ["running"]  # the shared module fixture

CORRECTED_DAY = START + dt.timedelta(days=40)


async def submit(r: Running, *entries: pb.TimeEntryInput) -> list[pb.TimeEntry]:
    answer = await r.project.SubmitTime(pb.SubmitTimeRequest(entries=list(entries)))
    return list(answer.time_entries)


async def stored_hours(r: Running, engagement_id: str) -> list[Decimal]:
    rows = await r.db.fetch(
        "SELECT hours FROM time_entries WHERE engagement_id = $1::text::uuid", engagement_id
    )
    return [row["hours"] for row in rows]


async def test_a_psa_correction_replaces_the_entry_until_it_is_approved(running: Running) -> None:
    r = running
    e = await engagement(r)
    at = {"date": day(CORRECTED_DAY), "external_id": "psa-X"}
    [first] = await submit(r, entry(e, hours="8", **at))
    [corrected] = await submit(r, entry(e, hours="6", description="fixed", **at))
    assert (corrected.id, corrected.hours, corrected.description) == (first.id, "6", "fixed")
    assert await stored_hours(r, e.id) == [Decimal(6)]
    # The correction is checked like any submission: 6 + 16 is a full day, 8.5 + 16 is not.
    await submit(r, entry(e, hours="16", date=day(CORRECTED_DAY), external_id="psa-Y"))
    code, _, violations = await rpc_error(
        r.project.SubmitTime(pb.SubmitTimeRequest(entries=[entry(e, hours="8.5", **at)]))
    )
    assert (code, [v.field for v in violations]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["entries[0].hours"],
    )

    await r.project.ApproveTime(pb.ApproveTimeRequest(ids=[first.id]))
    before = await counts(r.db)
    # Sent again as it stands, it is a retry; corrected once approved, a conflict naming it.
    [again] = await submit(r, entry(e, hours="6", description="fixed", **at))
    assert (again.id, again.status) == (first.id, pb.TIME_ENTRY_STATUS_APPROVED)
    code, message, _ = await rpc_error(
        r.project.SubmitTime(pb.SubmitTimeRequest(entries=[entry(e, hours="5", **at)]))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert f"externalId 'psa-X' is entry {first.id}, already APPROVED" in message
    assert await counts(r.db) == before
    assert sorted(await stored_hours(r, e.id)) == [Decimal(6), Decimal(16)]
    # What billing and revenue receive: the corrected 6 hours.
    approved = [
        decoded(m, events_pb2.TimeEntriesApproved)
        for m in await stream_events(r, e.id)
        if m.subject == "weftwork.project.time_entry.approved.v1"
    ]
    assert [(t.time_entry_id, Decimal(t.hours)) for a in approved for t in a.entries] == [
        (first.id, Decimal(6))
    ]


async def test_a_rejected_entry_is_not_corrected_either(running: Running) -> None:
    r = running
    e = await engagement(r)
    [first] = await submit(r, entry(e, hours="3", external_id="psa-R"))
    await r.project.RejectTime(pb.RejectTimeRequest(ids=[first.id], reason="wrong project"))
    code, message, _ = await rpc_error(
        r.project.SubmitTime(
            pb.SubmitTimeRequest(entries=[entry(e, hours="2", external_id="psa-R")])
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert f"is entry {first.id}, already REJECTED" in message


async def test_a_psa_correction_of_an_expense_replaces_it_until_it_is_approved(
    running: Running,
) -> None:
    r = running
    e = await engagement(r)

    def expense(amount: str) -> pb.SubmitExpenseRequest:
        return pb.SubmitExpenseRequest(
            engagement_id=e.id,
            person_id="p-ada",
            date=day(START),
            amount=money(amount),
            category="travel",
            billable=True,
            external_id="psa-E",
        )

    first = (await r.project.SubmitExpense(expense("10.00"))).expense
    corrected = (await r.project.SubmitExpense(expense("12.50"))).expense
    assert (corrected.id, as_decimal(corrected.amount)) == (first.id, Decimal("12.50"))
    await r.project.ApproveExpenses(pb.ApproveExpensesRequest(ids=[first.id]))
    assert (await r.project.SubmitExpense(expense("12.50"))).expense.id == first.id
    before = await counts(r.db)
    code, message, _ = await rpc_error(r.project.SubmitExpense(expense("15.00")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert f"externalId 'psa-E' is expense {first.id}, already APPROVED" in message
    assert await counts(r.db) == before


async def test_a_close_won_with_other_terms_reuses_its_key(running: Running) -> None:
    r = running
    request = won()
    first = await r.project.CreateEngagementFromOpportunity(request)
    before = await counts(r.db)
    other = won(request.opportunity_id, budget_hours="500")
    code, message, violations = await rpc_error(r.project.CreateEngagementFromOpportunity(other))
    assert (code, violations) == (grpc.StatusCode.ALREADY_EXISTS, [])
    assert message.startswith("IDEMPOTENCY_KEY_REUSED: ")
    assert first.engagement.code in message
    assert await counts(r.db) == before
    # The same terms, written differently ("400.00" is 400), are the same request: a retry.
    same = won(request.opportunity_id, budget_hours="400.00")
    again = await r.project.CreateEngagementFromOpportunity(same)
    assert (again.engagement.id, again.created) == (first.engagement.id, False)
