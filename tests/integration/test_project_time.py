"""Time, expenses, milestones and completion over real gRPC, PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
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
)
from tests.support import rpc_error
from weftwork.project.v1 import events_pb2
from weftwork.project.v1 import project_service_pb2 as pb

__all__ = ["running"]  # the shared module fixture


def ids(answer: pb.SubmitTimeResponse) -> list[str]:
    return [t.id for t in answer.time_entries]


async def test_approved_time_arrives_rated_to_the_cent_once_per_engagement(
    running: Running,
) -> None:
    first, second = await engagement(running), await engagement(running)
    submitted = await running.project.SubmitTime(
        pb.SubmitTimeRequest(
            entries=[
                entry(first, hours="7.5"),  # 7.5 x 187.35 = 1405.125 -> 1405.13
                entry(first, role="Consultant", hours="0.25", billable=False, person_id="p-bob"),
                entry(second, hours="1", date=day(START + dt.timedelta(days=1))),
            ]
        )
    )
    assert all(t.status == pb.TIME_ENTRY_STATUS_SUBMITTED for t in submitted.time_entries)
    approved = await running.project.ApproveTime(pb.ApproveTimeRequest(ids=ids(submitted)))
    rated = approved.time_entries[0]
    assert (rated.status, rated.bill_rate, rated.cost_rate) == (
        pb.TIME_ENTRY_STATUS_APPROVED,
        "187.35",
        "99.99",
    )
    assert (as_decimal(rated.bill_amount), as_decimal(rated.cost_amount)) == (
        Decimal("1405.13"),
        Decimal("749.93"),  # 7.5 x 99.99 = 749.925
    )
    events = await stream_events(running, first.id)
    assert [m.subject for m in events] == [
        "weftwork.project.engagement.activated.v1",
        "weftwork.project.time_entry.approved.v1",
    ]
    payload = decoded(events[1], events_pb2.TimeEntriesApproved)
    assert (payload.version, payload.approved_hours, payload.budget_hours) == (2, "7.75", "400")
    assert payload.billing_model == pb.BILLING_MODEL_TIME_AND_MATERIALS
    by_id = {e.time_entry_id: e for e in payload.entries}
    assert set(by_id) == set(ids(submitted)[:2])  # the other engagement has its own event
    bob = by_id[ids(submitted)[1]]
    assert (bob.billable, bob.hours, bob.bill_rate) == (False, "0.25", "150.00")
    assert (as_decimal(bob.bill_amount), as_decimal(bob.cost_amount)) == (
        Decimal("37.50"),
        Decimal("20.00"),
    )
    assert bob.bill_amount.currency_code == "GBP"
    [_, other] = await stream_events(running, second.id)
    assert [e.time_entry_id for e in decoded(other, events_pb2.TimeEntriesApproved).entries] == [
        ids(submitted)[2]
    ]
    fetched = await running.project.GetEngagement(pb.GetEngagementRequest(id=first.id))
    assert (fetched.engagement.version, fetched.engagement.approved_hours) == (2, "7.75")


async def test_a_resubmit_and_a_reapprove_duplicate_nothing(running: Running) -> None:
    e = await engagement(running)
    batch = pb.SubmitTimeRequest(
        entries=[
            entry(e, external_id="psa-1", hours="3"),
            entry(e, external_id="psa-2", hours="2", date=day(START + dt.timedelta(days=2))),
        ]
    )
    first = await running.project.SubmitTime(batch)
    again = await running.project.SubmitTime(batch)
    assert ids(again) == ids(first)
    await running.project.ApproveTime(pb.ApproveTimeRequest(ids=ids(first)))
    before = await counts(running.db)
    reapproved = await running.project.ApproveTime(pb.ApproveTimeRequest(ids=ids(first)))
    # After approval the same PSA ids still answer with the same (now approved) entries.
    resubmitted = await running.project.SubmitTime(batch)
    assert await counts(running.db) == before
    assert [t.status for t in resubmitted.time_entries] == [pb.TIME_ENTRY_STATUS_APPROVED] * 2
    assert [t.id for t in reapproved.time_entries] == ids(first)
    assert [m.subject for m in await stream_events(running, e.id)] == [
        "weftwork.project.engagement.activated.v1",
        "weftwork.project.time_entry.approved.v1",
    ]
    stored = await running.db.fetchval(
        "SELECT count(*) FROM time_entries WHERE engagement_id = $1::text::uuid", e.id
    )
    assert stored == 2


async def test_concurrent_retries_of_a_long_day_store_it_once(running: Running) -> None:
    e = await engagement(running)
    date = day(START + dt.timedelta(days=30))
    batch = pb.SubmitTimeRequest(
        entries=[
            entry(e, person_id="p-bob", date=date, hours="9", external_id="day-a"),
            entry(e, person_id="p-bob", date=date, hours="7", external_id="day-b"),
        ]
    )
    answers = await asyncio.gather(*(running.project.SubmitTime(batch) for _ in range(3)))
    assert len({tuple(ids(a)) for a in answers}) == 1  # 16 hours, not 48 refused
    stored = await running.db.fetchval(
        "SELECT sum(hours) FROM time_entries WHERE engagement_id = $1::text::uuid", e.id
    )
    assert stored == Decimal(16)


async def test_approving_a_rejected_entry_fails_the_whole_call(running: Running) -> None:
    e = await engagement(running)
    submitted = await running.project.SubmitTime(
        pb.SubmitTimeRequest(entries=[entry(e, hours="1"), entry(e, hours="2")])
    )
    good, bad = ids(submitted)
    rejected = await running.project.RejectTime(
        pb.RejectTimeRequest(ids=[bad], reason="Wrong project")
    )
    assert rejected.time_entries[0].rejection_reason == "Wrong project"
    before = await counts(running.db)
    code, message, _ = await rpc_error(
        running.project.ApproveTime(pb.ApproveTimeRequest(ids=[good, bad]))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert bad in message
    assert await counts(running.db) == before
    found = await running.project.BatchGetTimeEntries(pb.BatchGetTimeEntriesRequest(ids=[good]))
    assert found.time_entries[0].status == pb.TIME_ENTRY_STATUS_SUBMITTED
    await running.project.ApproveTime(pb.ApproveTimeRequest(ids=[good]))
    code, _, _ = await rpc_error(
        running.project.RejectTime(pb.RejectTimeRequest(ids=[good], reason="Too late"))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # approved time is immutable


async def test_concurrent_submits_cannot_overbook_a_day(running: Running) -> None:
    one, two = await engagement(running), await engagement(running)
    for offset in range(5):
        date = day(START + dt.timedelta(days=7 * offset + 3))
        outcomes = await asyncio.gather(
            running.project.SubmitTime(
                pb.SubmitTimeRequest(entries=[entry(one, person_id="p-bob", date=date, hours="14")])
            ),
            running.project.SubmitTime(
                pb.SubmitTimeRequest(entries=[entry(two, person_id="p-bob", date=date, hours="14")])
            ),
            return_exceptions=True,
        )
        failures = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert len(failures) == 1, outcomes
        assert failures[0].code() == grpc.StatusCode.INVALID_ARGUMENT
        booked = await running.db.fetchval(
            "SELECT sum(hours) FROM time_entries WHERE person_id = 'p-bob' AND service_date = $1",
            START + dt.timedelta(days=7 * offset + 3),
        )
        assert booked == Decimal(14)


async def test_expenses_are_billed_with_the_markup_fixed_on_approval(running: Running) -> None:
    e = await engagement(running)  # markup 12.5 %
    submit = pb.SubmitExpenseRequest(
        engagement_id=e.id,
        person_id="p-ada",
        date=day(START),
        amount=money("99.99"),
        category="Travel",
        billable=True,
        external_id="exp-1",
    )
    first = (await running.project.SubmitExpense(submit)).expense
    assert (await running.project.SubmitExpense(submit)).expense.id == first.id
    free = (
        await running.project.SubmitExpense(
            pb.SubmitExpenseRequest(
                engagement_id=e.id,
                person_id="p-ada",
                date=day(START),
                amount=money("10"),
                category="meals",
                billable=False,
            )
        )
    ).expense
    approved = await running.project.ApproveExpenses(
        pb.ApproveExpensesRequest(ids=[first.id, free.id])
    )
    assert as_decimal(approved.expenses[0].billable_amount) == Decimal("112.49")  # 112.48875
    assert as_decimal(approved.expenses[1].billable_amount) == 0
    again = await running.project.ApproveExpenses(pb.ApproveExpensesRequest(ids=[first.id]))
    assert again.expenses[0] == approved.expenses[0]
    missing = "00000000-0000-0000-0000-000000000001"
    found = await running.project.BatchGetExpenses(
        pb.BatchGetExpensesRequest(ids=[free.id, missing, first.id])
    )
    assert [x.id for x in found.expenses] == [free.id, first.id]
    assert list(found.missing_ids) == [missing]
    events = await stream_events(running, e.id)
    payloads = [decoded(m, events_pb2.ExpenseApproved) for m in events[1:]]
    assert [(p.expense_id, p.version) for p in payloads] == [(first.id, 2), (free.id, 3)]
    assert (as_decimal(payloads[0].amount), payloads[0].markup_percent) == (
        Decimal("99.99"),
        "12.5",
    )
    assert (payloads[0].category, as_decimal(payloads[0].billable_amount)) == (
        "travel",
        Decimal("112.49"),
    )


async def test_milestones_and_completion_emit_their_events_once(running: Running) -> None:
    e = await engagement(
        running,
        billing_model=pb.BILLING_MODEL_MILESTONE,
        contract_value=money("30000.00"),
        milestones=[
            pb.MilestoneInput(
                name="Go-live", amount=money("20000"), due_date=day(START + dt.timedelta(days=60))
            ),
            pb.MilestoneInput(
                name="Discovery", amount=money("10000"), due_date=day(START + dt.timedelta(days=14))
            ),
        ],
    )
    assert [m.name for m in e.milestones] == ["Discovery", "Go-live"]  # due-date order
    discovery = e.milestones[0]
    on = day(START + dt.timedelta(days=13))
    done = await running.project.CompleteMilestone(
        pb.CompleteMilestoneRequest(id=discovery.id, completed_on=on)
    )
    again = await running.project.CompleteMilestone(
        pb.CompleteMilestoneRequest(id=discovery.id, completed_on=on)
    )
    assert done.milestone == again.milestone
    assert done.milestone.status == pb.MILESTONE_STATUS_COMPLETED
    fetched = await running.project.GetMilestone(pb.GetMilestoneRequest(id=discovery.id))
    assert fetched.milestone == done.milestone
    end = day(START + dt.timedelta(days=90))
    completed = await running.project.CompleteEngagement(
        pb.CompleteEngagementRequest(id=e.id, completed_on=end)
    )
    assert completed.engagement.status == pb.ENGAGEMENT_STATUS_COMPLETED
    assert completed.engagement.version == 3
    await running.project.CompleteEngagement(
        pb.CompleteEngagementRequest(id=e.id, completed_on=end)
    )
    events = await stream_events(running, e.id)
    assert [m.subject for m in events] == [
        "weftwork.project.engagement.activated.v1",
        "weftwork.project.milestone.completed.v1",
        "weftwork.project.engagement.completed.v1",
    ]
    milestone = decoded(events[1], events_pb2.MilestoneCompleted)
    assert (milestone.milestone_id, as_decimal(milestone.amount), milestone.version) == (
        discovery.id,
        Decimal(10000),
        2,
    )
    assert milestone.billing_model == pb.BILLING_MODEL_MILESTONE
    finished = decoded(events[2], events_pb2.EngagementCompleted)
    assert (finished.version, finished.completed_on, finished.approved_hours) == (3, end, "0")


async def test_utilization_and_staffing(running: Running) -> None:
    e = await engagement(running)
    await running.project.UpsertPerson(
        pb.UpsertPersonRequest(
            person=pb.Person(
                id="p-cy", name="Cy Twombly", home_entity="DE01", weekly_capacity_hours="32"
            )
        )
    )
    staffed = await running.project.AssignResource(
        pb.AssignResourceRequest(
            engagement_id=e.id, person_id="p-cy", role="Consultant", planned_hours="120"
        )
    )
    assert [(a.person_id, a.planned_hours) for a in staffed.engagement.assignments] == [
        ("p-cy", "120")
    ]
    assert staffed.engagement.version == 2
    same = await running.project.AssignResource(
        pb.AssignResourceRequest(
            engagement_id=e.id, person_id="p-cy", role="Consultant", planned_hours="120"
        )
    )
    assert same.engagement.version == 2  # unchanged: no new version
    week = [START + dt.timedelta(days=i) for i in range(7)]  # Monday to Sunday
    submitted = await running.project.SubmitTime(
        pb.SubmitTimeRequest(
            entries=[
                entry(e, person_id="p-cy", role="Consultant", date=day(d), hours="6")
                for d in week[:4]
            ]
            + [
                entry(
                    e,
                    person_id="p-cy",
                    role="Consultant",
                    date=day(week[4]),
                    hours="2",
                    billable=False,
                )
            ]
        )
    )
    await running.project.ApproveTime(pb.ApproveTimeRequest(ids=ids(submitted)[1:]))
    answer = await running.project.GetUtilization(
        pb.GetUtilizationRequest(from_date=day(week[0]), to_date=day(week[6]), legal_entity="DE01")
    )
    [cy] = answer.people
    # 32 h a week over 5 weekdays; 18 billable approved hours; 6 still waiting.
    assert (cy.capacity_hours, cy.approved_hours, cy.billable_hours, cy.submitted_hours) == (
        "32.00",
        "20",
        "18",
        "6",
    )
    assert cy.utilization_percent == "56.25"


async def test_an_idempotency_key_replays_the_first_response(running: Running) -> None:
    e = await engagement(running)
    request = pb.SubmitTimeRequest(entries=[entry(e, hours="1")], idempotency_key="key-1")
    first = await running.project.SubmitTime(request)
    before = await counts(running.db)
    assert await running.project.SubmitTime(request) == first
    assert await counts(running.db) == before
    other = pb.SubmitTimeRequest(entries=[entry(e, hours="2")], idempotency_key="key-1")
    code, message, violations = await rpc_error(running.project.SubmitTime(other))
    # DESIGN.md §6: never the first answer for other content; the gateway shows CONFLICT.
    assert (code, violations) == (grpc.StatusCode.ALREADY_EXISTS, [])
    assert message.startswith("IDEMPOTENCY_KEY_REUSED: ")
    assert await counts(running.db) == before


async def test_lists_page_through_everything_once(running: Running) -> None:
    created = [
        await engagement(
            running,
            legal_entity="US01",
            currency="USD",
            contract_value=money("1", "USD"),
            start_date=day(dt.date(2040, 1, 1 + i)),
            end_date=day(dt.date(2040, 12, 31)),
        )
        for i in range(5)
    ]
    seen: list[str] = []
    token = ""
    while True:
        page = await running.project.ListEngagements(
            pb.ListEngagementsRequest(page_size=2, page_token=token, legal_entity="US01")
        )
        seen += [x.id for x in page.engagements]
        token = page.next_page_token
        if not token:
            break
    # Newest start first.
    assert seen == [x.id for x in reversed(created)]
    scoped = await running.project.ListEngagements(
        pb.ListEngagementsRequest(legal_entities=["DE01", "US01"], legal_entity="US01")
    )
    assert [x.id for x in scoped.engagements] == seen
    elsewhere = await running.project.ListEngagements(
        pb.ListEngagementsRequest(legal_entities=["DE01"], legal_entity="US01")
    )
    assert not elsewhere.engagements
    by_opportunity = await running.project.GetEngagementByOpportunity(
        pb.GetEngagementByOpportunityRequest(
            source=created[2].opportunity.system, opportunity_id=created[2].opportunity.external_id
        )
    )
    assert by_opportunity.engagement.id == created[2].id
    e = created[0]
    submitted = await running.project.SubmitTime(
        pb.SubmitTimeRequest(
            entries=[
                entry(e, person_id=p, date=day(dt.date(2040, 3, d)), hours="1")
                for d in (3, 2, 1)
                for p in ("p-bob", "p-ada")
            ]
        )
    )
    listed: list[tuple[str, str]] = []
    token = ""
    while True:
        page = await running.project.ListTimeEntries(
            pb.ListTimeEntriesRequest(engagement_id=e.id, page_size=4, page_token=token)
        )
        listed += [(f"{t.date.day}", t.person_id) for t in page.time_entries]
        token = page.next_page_token
        if not token:
            break
    assert listed == [(str(d), p) for d in (1, 2, 3) for p in ("p-ada", "p-bob")]
    assert len(submitted.time_entries) == 6
