"""Hostile numbers (DESIGN.md §6) at every money, hours and rate entry point of the project
service: INVALID_ARGUMENT naming the field, nothing written, and the next call is answered."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.type import money_pb2

from tests.integration.test_project_grpc import (
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

# Decimal strings no service may do arithmetic on: not finite, unbounded, or too precise.
HOSTILE_DECIMALS = ["NaN", "sNaN", "Infinity", "-Infinity", "1E+999999999", "1e400", "1.1234567"]
# google.type.Money that breaks its own rules, or DESIGN.md §6's bounds.
HOSTILE_MONEY = {
    "nanos over a unit": (
        money_pb2.Money(currency_code="GBP", units=1, nanos=1_000_000_000),
        "nanos",
    ),
    "signs that disagree": (money_pb2.Money(currency_code="GBP", units=1, nanos=-5), "nanos"),
    "sixteen digits": (money_pb2.Money(currency_code="GBP", units=10**15), ""),
    "int64 units": (money_pb2.Money(currency_code="GBP", units=2**63 - 1), ""),
    "a tenth of a penny": (money_pb2.Money(currency_code="GBP", units=1, nanos=1_000_000), ""),
}
Call = Callable[[pb_grpc.ProjectServiceStub, pb.Engagement], Awaitable[Any]]


def rate_card(bill: str = "150", cost: str = "80") -> list[pb.RateCardLine]:
    return [pb.RateCardLine(role="Consultant", bill_rate=bill, cost_rate=cost)]


DECIMAL_CALLS: dict[str, tuple[Callable[[str], Call], str]] = {
    "hours": (
        lambda v: (
            lambda stub, e: stub.SubmitTime(pb.SubmitTimeRequest(entries=[entry(e, hours=v)]))
        ),
        "entries[0].hours",
    ),
    "budget hours": (
        lambda v: lambda stub, e: stub.CreateEngagementFromOpportunity(won(budget_hours=v)),
        "budget_hours",
    ),
    "markup": (
        lambda v: (
            lambda stub, e: stub.CreateEngagementFromOpportunity(won(expense_markup_percent=v))
        ),
        "expense_markup_percent",
    ),
    "bill rate": (
        lambda v: (
            lambda stub, e: stub.CreateEngagementFromOpportunity(won(rate_card=rate_card(bill=v)))
        ),
        "rate_card[0].bill_rate",
    ),
    "cost rate": (
        lambda v: (
            lambda stub, e: stub.CreateEngagementFromOpportunity(won(rate_card=rate_card(cost=v)))
        ),
        "rate_card[0].cost_rate",
    ),
    "planned hours": (
        lambda v: (
            lambda stub, e: stub.AssignResource(
                pb.AssignResourceRequest(
                    engagement_id=e.id, person_id="p-ada", role="Consultant", planned_hours=v
                )
            )
        ),
        "planned_hours",
    ),
    "weekly capacity": (
        lambda v: (
            lambda stub, e: stub.UpsertPerson(
                pb.UpsertPersonRequest(
                    person=pb.Person(
                        id="p-ada", name="Ada", home_entity="UK01", weekly_capacity_hours=v
                    )
                )
            )
        ),
        "person.weekly_capacity_hours",
    ),
}

MONEY_CALLS: dict[str, tuple[Callable[[money_pb2.Money], Call], str]] = {
    "contract value": (
        lambda m: lambda stub, e: stub.CreateEngagementFromOpportunity(won(contract_value=m)),
        "contract_value",
    ),
    "milestone amount": (
        lambda m: (
            lambda stub, e: stub.CreateEngagementFromOpportunity(
                won(
                    billing_model=pb.BILLING_MODEL_MILESTONE,
                    contract_value=money("100"),
                    milestones=[pb.MilestoneInput(name="All", amount=m, due_date=day(START))],
                )
            )
        ),
        "milestones[0].amount",
    ),
    "expense amount": (
        lambda m: (
            lambda stub, e: stub.SubmitExpense(
                pb.SubmitExpenseRequest(
                    engagement_id=e.id,
                    person_id="p-ada",
                    date=day(START),
                    amount=m,
                    category="travel",
                    billable=True,
                )
            )
        ),
        "amount",
    ),
}

CASES = [
    pytest.param(build(value), field, id=f"{name}={value}")
    for name, (build, field) in DECIMAL_CALLS.items()
    for value in HOSTILE_DECIMALS
] + [
    pytest.param(build(m), f"{field}.{part}" if part else field, id=f"{name}: {kind}")
    for name, (build, field) in MONEY_CALLS.items()
    for kind, (m, part) in HOSTILE_MONEY.items()
]


@pytest.fixture(scope="module")
async def target(running: Running) -> pb.Engagement:
    return await engagement(running)


@pytest.mark.parametrize(("call", "field"), CASES)
async def test_a_hostile_number_is_refused_naming_its_field(
    running: Running, target: pb.Engagement, call: Call, field: str
) -> None:
    before = await counts(running.db)
    code, message, violations = await asyncio.wait_for(
        rpc_error(call(running.project, target)), timeout=10
    )
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, [field]), (
        message
    )
    assert await counts(running.db) == before
    # The server is not busy with it: the next call is answered at once.
    answer = await asyncio.wait_for(
        running.project.GetEngagement(pb.GetEngagementRequest(id=target.id)), timeout=2
    )
    assert answer.engagement.id == target.id
