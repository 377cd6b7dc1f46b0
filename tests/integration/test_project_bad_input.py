"""Bad input gets its exact status and field violation, and writes nothing at all."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from tests.integration.test_project_grpc import (
    END,
    START,
    Running,
    counts,
    day,
    engagement,
    entry,
    money,
    running,
    won,
)
from tests.support import rpc_error
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

__all__ = ["running"]  # the shared module fixture

BUSY_DAY = START + dt.timedelta(days=1)


@dataclass
class World:
    active: pb.Engagement
    other: pb.Engagement
    completed: pb.Engagement
    rejected_id: str


@pytest.fixture(scope="module")
async def world(running: Running) -> World:
    active, other, completed = [await engagement(running) for _ in range(3)]
    await running.project.CompleteEngagement(
        pb.CompleteEngagementRequest(id=completed.id, completed_on=day(START))
    )
    # p-ada already has 20 hours on BUSY_DAY.
    await running.project.SubmitTime(
        pb.SubmitTimeRequest(
            entries=[
                entry(active, date=day(BUSY_DAY), hours="12"),
                entry(other, date=day(BUSY_DAY), hours="8"),
            ]
        )
    )
    rejected = await running.project.SubmitTime(
        pb.SubmitTimeRequest(entries=[entry(active, hours="1")])
    )
    await running.project.RejectTime(
        pb.RejectTimeRequest(ids=[rejected.time_entries[0].id], reason="duplicate")
    )
    return World(active, other, completed, rejected.time_entries[0].id)


Call = Callable[[pb_grpc.ProjectServiceStub, World], Awaitable[Any]]
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def create(**overrides: Any) -> Call:
    return lambda stub, w: stub.CreateEngagementFromOpportunity(won(**overrides))


def submit(*entries: Callable[[World], pb.TimeEntryInput]) -> Call:
    return lambda stub, w: stub.SubmitTime(pb.SubmitTimeRequest(entries=[e(w) for e in entries]))


def time(**overrides: Any) -> Callable[[World], pb.TimeEntryInput]:
    return lambda w: entry(w.active, **overrides)


def expense(**overrides: Any) -> Call:
    def call(stub: pb_grpc.ProjectServiceStub, w: World) -> Any:
        fields: dict[str, Any] = {
            "engagement_id": w.active.id,
            "person_id": "p-ada",
            "date": day(START),
            "amount": money("10"),
            "category": "travel",
            "billable": True,
        }
        return stub.SubmitExpense(pb.SubmitExpenseRequest(**{**fields, **overrides}))

    return call


UNKNOWN = str(uuid.UUID(int=1))
MILESTONES = [
    pb.MilestoneInput(name="Design", amount=money("10000"), due_date=day(START)),
    pb.MilestoneInput(name="Build", amount=money("25000"), due_date=day(END)),
]

CASES: list[tuple[str, Call, grpc.StatusCode, list[str]]] = [
    # Creating an engagement.
    (
        "milestones not summing to the contract value",
        create(
            billing_model=pb.BILLING_MODEL_MILESTONE,
            contract_value=money("40000"),
            milestones=MILESTONES,
        ),
        INVALID,
        ["milestones"],
    ),
    (
        "currency not ISO 4217",
        create(currency="GBX", contract_value=money("1", "GBX")),
        INVALID,
        ["currency"],
    ),
    (
        "negative bill rate",
        create(rate_card=[pb.RateCardLine(role="Consultant", bill_rate="-150", cost_rate="80")]),
        INVALID,
        ["rate_card[0].bill_rate"],
    ),
    (
        "end date before start date",
        create(end_date=day(START - dt.timedelta(days=1))),
        INVALID,
        ["end_date"],
    ),
    (
        "fixed fee without budget hours",
        create(billing_model=pb.BILLING_MODEL_FIXED_FEE, budget_hours=""),
        INVALID,
        ["budget_hours"],
    ),
    (
        "fixed fee without a price",
        create(billing_model=pb.BILLING_MODEL_FIXED_FEE, contract_value=money("0")),
        INVALID,
        ["contract_value"],
    ),
    ("unknown legal entity", create(legal_entity="FR01"), INVALID, ["legal_entity"]),
    (
        "a role twice on the rate card",
        create(
            rate_card=[
                pb.RateCardLine(role="Dev", bill_rate="1", cost_rate="1"),
                pb.RateCardLine(role="dev", bill_rate="2", cost_rate="1"),
            ]
        ),
        INVALID,
        ["rate_card[1].role"],
    ),
    (
        "a contract value finer than a penny",
        create(contract_value=money("100.005")),
        INVALID,
        ["contract_value"],
    ),
    (
        "a milestone in another currency",
        create(
            billing_model=pb.BILLING_MODEL_MILESTONE,
            contract_value=money("10"),
            milestones=[
                pb.MilestoneInput(name="All", amount=money("10", "EUR"), due_date=day(END))
            ],
        ),
        INVALID,
        ["milestones[0].amount.currency_code"],
    ),
    (
        "unspecified billing model",
        create(billing_model=pb.BILLING_MODEL_UNSPECIFIED),
        INVALID,
        ["billing_model"],
    ),
    (
        "account without a country",
        create(account=pb.OpportunityAccount(external_id="x", name="Acme")),
        INVALID,
        ["account.country"],
    ),
    # Submitting time.
    ("unknown role", submit(time(role="Astronaut")), INVALID, ["entries[0].role"]),
    ("zero hours", submit(time(hours="0")), INVALID, ["entries[0].hours"]),
    ("negative hours", submit(time(hours="-1")), INVALID, ["entries[0].hours"]),
    ("24.01 hours", submit(time(hours="24.01")), INVALID, ["entries[0].hours"]),
    ("hours that are not a number", submit(time(hours="seven")), INVALID, ["entries[0].hours"]),
    (
        "a date outside the engagement",
        submit(time(date=day(END + dt.timedelta(days=1)))),
        INVALID,
        ["entries[0].date"],
    ),
    (
        "25 hours on one day across two engagements",
        submit(lambda w: entry(w.other, date=day(BUSY_DAY), hours="5")),
        INVALID,
        ["entries[0].hours"],
    ),
    (
        "25 hours on one day within one batch",
        submit(time(date=day(END), hours="20"), lambda w: entry(w.other, date=day(END), hours="5")),
        INVALID,
        ["entries[1].hours"],
    ),
    (
        "time for a completed engagement",
        submit(lambda w: entry(w.completed)),
        grpc.StatusCode.FAILED_PRECONDITION,
        [],
    ),
    (
        "unknown engagement",
        submit(
            lambda w: pb.TimeEntryInput(
                engagement_id=UNKNOWN,
                person_id="p-ada",
                role="Consultant",
                date=day(START),
                hours="1",
            )
        ),
        INVALID,
        ["entries[0].engagement_id"],
    ),
    ("unknown person", submit(time(person_id="p-nobody")), INVALID, ["entries[0].person_id"]),
    (
        "one external id twice in a batch",
        submit(time(external_id="x"), time(external_id="x")),
        INVALID,
        ["entries[1].external_id"],
    ),
    ("an empty batch", submit(), INVALID, ["entries"]),
    ("a batch over the limit", submit(*[time(hours="0.01")] * 501), INVALID, ["entries"]),
    # Deciding time.
    (
        "approving unknown entries",
        lambda stub, w: stub.ApproveTime(pb.ApproveTimeRequest(ids=[UNKNOWN])),
        grpc.StatusCode.NOT_FOUND,
        [],
    ),
    (
        "approving a malformed id",
        lambda stub, w: stub.ApproveTime(pb.ApproveTimeRequest(ids=["entry-1"])),
        INVALID,
        ["ids[0]"],
    ),
    (
        "approving nothing",
        lambda stub, w: stub.ApproveTime(pb.ApproveTimeRequest()),
        INVALID,
        ["ids"],
    ),
    (
        "approving a rejected entry",
        lambda stub, w: stub.ApproveTime(pb.ApproveTimeRequest(ids=[w.rejected_id])),
        grpc.StatusCode.FAILED_PRECONDITION,
        [],
    ),
    (
        "rejecting without a reason",
        lambda stub, w: stub.RejectTime(pb.RejectTimeRequest(ids=[w.rejected_id])),
        INVALID,
        ["reason"],
    ),
    # Expenses, milestones, reads.
    (
        "an expense in another currency",
        expense(amount=money("10", "USD")),
        INVALID,
        ["amount.currency_code"],
    ),
    ("an expense of nothing", expense(amount=money("0")), INVALID, ["amount"]),
    (
        "completing an unknown milestone",
        lambda stub, w: stub.CompleteMilestone(
            pb.CompleteMilestoneRequest(id=UNKNOWN, completed_on=day(START))
        ),
        grpc.StatusCode.NOT_FOUND,
        [],
    ),
    (
        "a page of 101",
        lambda stub, w: stub.ListEngagements(pb.ListEngagementsRequest(page_size=101)),
        INVALID,
        ["page_size"],
    ),
    (
        "a forged page token",
        lambda stub, w: stub.ListEngagements(pb.ListEngagementsRequest(page_token="bm90IG91cnM=")),
        INVALID,
        ["page_token"],
    ),
    (
        "utilization ending before it starts",
        lambda stub, w: stub.GetUtilization(
            pb.GetUtilizationRequest(from_date=day(END), to_date=day(START))
        ),
        INVALID,
        ["to_date"],
    ),
]


@pytest.mark.parametrize(
    ("call", "code", "fields"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_bad_input_is_refused_precisely_and_writes_nothing(
    running: Running, world: World, call: Call, code: grpc.StatusCode, fields: list[str]
) -> None:
    before = await counts(running.db)
    got, message, violations = await rpc_error(call(running.project, world))
    assert (got, [v.field for v in violations]) == (code, fields), message
    assert message
    assert await counts(running.db) == before
