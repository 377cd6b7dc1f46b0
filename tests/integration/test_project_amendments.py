"""AmendEngagement over real gRPC, PostgreSQL and NATS (DESIGN.md §9): versioned terms, rate
cards by effective date, milestones re-planned by name, engagement.amended; every refusal
writes nothing and a repeated idempotency key amends once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import grpc

from tests.integration.test_project_grpc import (
    Running,
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

AMENDED = "weftwork.project.engagement.amended.v1"
CARD_V2 = [
    pb.RateCardLine(role="Consultant", bill_rate="160.00", cost_rate="80.00"),
    pb.RateCardLine(role="Senior Consultant", bill_rate="220", cost_rate="110"),
]


async def all_counts(db: asyncpg.Pool) -> dict[str, int]:
    found = await counts(db)
    found["engagement_terms"] = await db.fetchval("SELECT count(*) FROM engagement_terms")
    return found


def amend(e: pb.Engagement, effective: dt.date, **fields: Any) -> pb.AmendEngagementRequest:
    return pb.AmendEngagementRequest(
        id=e.id, effective_date=day(effective), reason=fields.pop("reason", "CR-7"), **fields
    )


async def test_a_new_rate_card_rates_time_from_its_effective_date_and_approved_time_keeps_its_rates(
    running: Running,
) -> None:
    e = await engagement(running)  # T&M, Senior Consultant 187.35 from 2025-03-03
    early = await running.project.SubmitTime(
        pb.SubmitTimeRequest(entries=[entry(e, date=day(dt.date(2025, 3, 20)), hours="2")])
    )
    approved = await running.project.ApproveTime(
        pb.ApproveTimeRequest(ids=[early.time_entries[0].id])
    )
    assert approved.time_entries[0].bill_rate == "187.35"
    pending = await running.project.SubmitTime(
        pb.SubmitTimeRequest(
            entries=[
                entry(e, date=day(dt.date(2025, 4, 14)), hours="2"),
                entry(e, date=day(dt.date(2025, 4, 15)), hours="2"),
                entry(e, date=day(dt.date(2025, 3, 21)), hours="1"),  # approved after v2, v1 rates
            ]
        )
    )
    answer = await running.project.AmendEngagement(
        amend(e, dt.date(2025, 4, 15), rate_card=CARD_V2, actor="fin-1", budget_hours="500")
    )
    amended = answer.engagement
    assert (amended.terms_version, amended.rate_card_version) == (2, 2)
    assert [(a.version, a.reason, a.actor) for a in amended.amendments] == [(2, "CR-7", "fin-1")]
    assert amended.budget_hours == "500" and amended.rate_card == CARD_V2
    assert amended.contract_value == e.contract_value  # omitted: kept
    assert list(answer.warnings) == []

    rated = await running.project.ApproveTime(
        pb.ApproveTimeRequest(ids=[t.id for t in pending.time_entries])
    )
    assert [(t.bill_rate, t.bill_amount.units) for t in rated.time_entries] == [
        ("187.35", 374),  # the 14th: 2 h x 187.35 = 374.70
        ("220", 440),  # the 15th: 2 h x 220 = 440.00
        ("187.35", 187),
    ]
    [late] = (await running.project.SubmitTime(
        pb.SubmitTimeRequest(entries=[entry(e, date=day(dt.date(2025, 3, 20)))])
    )).time_entries  # fmt: skip
    assert late.status == pb.TIME_ENTRY_STATUS_SUBMITTED
    found = await running.project.BatchGetTimeEntries(
        pb.BatchGetTimeEntriesRequest(ids=[early.time_entries[0].id])
    )
    assert found.time_entries[0].bill_rate == "187.35"  # approved before: its snapshot stays

    messages = [m for m in await stream_events(running, e.id) if m.subject == AMENDED]
    [event] = [decoded(m, events_pb2.EngagementAmended) for m in messages]
    assert (event.amendment.version, event.amendment.rate_card_version) == (2, 2)
    assert event.engagement.rate_card == CARD_V2 and event.version == amended.version


async def test_a_plan_keeps_ids_by_name_completed_milestones_stay_and_the_key_amends_once(
    running: Running,
) -> None:
    plan = [
        pb.MilestoneInput(name="Design", amount=money("20000"), due_date=day(dt.date(2025, 4, 1))),
        pb.MilestoneInput(name="Build", amount=money("30000"), due_date=day(dt.date(2025, 6, 1))),
    ]
    e = await engagement(running, billing_model=pb.BILLING_MODEL_MILESTONE, milestones=plan)
    design = next(m for m in e.milestones if m.name == "Design")
    build = next(m for m in e.milestones if m.name == "Build")
    await running.project.CompleteMilestone(
        pb.CompleteMilestoneRequest(id=design.id, completed_on=day(dt.date(2025, 4, 1)))
    )
    request = amend(
        e,
        dt.date(2025, 5, 1),
        contract_value=money("65000"),
        milestones=pb.MilestonePlan(
            milestones=[
                pb.MilestoneInput(
                    name="Build", amount=money("35000"), due_date=day(dt.date(2025, 6, 15))
                ),
                pb.MilestoneInput(
                    name="Rollout", amount=money("10000"), due_date=day(dt.date(2025, 6, 27))
                ),
            ]
        ),
        idempotency_key="amend-ms-1",
    )
    first = await running.project.AmendEngagement(request)
    before = await all_counts(running.db)
    again = await running.project.AmendEngagement(request)
    assert again == first and await all_counts(running.db) == before  # the same key: once
    after = {m.name: m for m in first.engagement.milestones}
    assert after["Design"].id == design.id and after["Design"].amount.units == 20000
    assert after["Design"].status == pb.MILESTONE_STATUS_COMPLETED
    assert (after["Build"].id, after["Build"].amount.units) == (build.id, 35000)
    assert after["Rollout"].status == pb.MILESTONE_STATUS_PLANNED
    assert first.engagement.contract_value.units == 65000
    assert [m.name for m in first.amendment.milestones] == ["Design", "Build", "Rollout"]
    other = amend(e, dt.date(2025, 5, 2), budget_hours="9", idempotency_key="amend-ms-1")
    code, _, _ = await rpc_error(running.project.AmendEngagement(other))
    assert code == grpc.StatusCode.ALREADY_EXISTS  # the key, with another request


async def test_bad_amendments_are_refused_naming_the_field_and_write_nothing(
    running: Running,
) -> None:
    plan = [
        pb.MilestoneInput(name="Design", amount=money("20000"), due_date=day(dt.date(2025, 4, 1))),
        pb.MilestoneInput(name="Build", amount=money("30000"), due_date=day(dt.date(2025, 6, 1))),
    ]
    e = await engagement(running, billing_model=pb.BILLING_MODEL_MILESTONE, milestones=plan)
    fixed = await engagement(
        running, billing_model=pb.BILLING_MODEL_FIXED_FEE, contract_value=money("100000")
    )
    before = await all_counts(running.db)
    cases = [
        (amend(e, dt.date(2025, 3, 2), budget_hours="10"), "effective_date"),  # before start
        (amend(e, dt.date(2025, 6, 28), budget_hours="10"), "effective_date"),  # after end
        (amend(e, dt.date(2025, 4, 1), contract_value=money("60000")), "milestones"),
        (amend(e, dt.date(2025, 4, 1)), "input"),  # changes nothing
        (amend(e, dt.date(2025, 4, 1), reason="", budget_hours="1"), "reason"),
        (amend(fixed, dt.date(2025, 4, 1), budget_hours="0"), "budget_hours"),
        (amend(fixed, dt.date(2025, 4, 1), end_date=day(dt.date(2025, 3, 31))), "end_date"),
        (
            amend(e, dt.date(2025, 4, 1), rate_card=[pb.RateCardLine(role="X", bill_rate="-1")]),
            "rate_card[0].bill_rate",
        ),
    ]
    for request, field in cases:
        code, message, violations = await rpc_error(running.project.AmendEngagement(request))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (field, message)
        assert field in [v.field for v in violations], (field, violations)
    short = amend(e, dt.date(2025, 4, 1), contract_value=money("60000"))
    code, _, violations = await rpc_error(running.project.AmendEngagement(short))
    [difference] = [v.description for v in violations if v.field == "milestones"]
    assert "a difference of 10000.00" in difference  # 60,000 - (20,000 + 30,000)
    assert await all_counts(running.db) == before
    done = await running.project.CompleteEngagement(
        pb.CompleteEngagementRequest(id=fixed.id, completed_on=day(dt.date(2025, 4, 1)))
    )
    assert done.engagement.status == pb.ENGAGEMENT_STATUS_COMPLETED
    before = await all_counts(running.db)
    code, _, _ = await rpc_error(
        running.project.AmendEngagement(amend(fixed, dt.date(2025, 4, 1), budget_hours="10"))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # COMPLETED: CONFLICT at the gateway
    assert await all_counts(running.db) == before


async def test_a_retried_close_won_after_an_amendment_is_still_a_retry(running: Running) -> None:
    request = won()
    first = await running.project.CreateEngagementFromOpportunity(request)
    e = first.engagement
    await running.project.AmendEngagement(
        amend(e, dt.date(2025, 4, 1), contract_value=money("60000"), rate_card=CARD_V2)
    )
    again = await running.project.CreateEngagementFromOpportunity(request)
    assert (again.engagement.id, again.engagement.terms_version) == (e.id, 2)
    other = pb.CreateEngagementFromOpportunityRequest()
    other.CopyFrom(request)
    other.contract_value.CopyFrom(money("60000"))  # the amended value is not the deal as won
    code, _, _ = await rpc_error(running.project.CreateEngagementFromOpportunity(other))
    assert code == grpc.StatusCode.ALREADY_EXISTS
