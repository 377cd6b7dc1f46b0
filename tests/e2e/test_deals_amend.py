"""Acceptance of amendEngagement (issue #17, DESIGN.md §9) through GraphQL, with all four
services on real gRPC, PostgreSQL and JetStream; every figure worked by hand, to the cent."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.billing.consumers import project_events_handlers
from services.billing.store import BillingStore
from services.revenue.consumers import event_handlers as revenue_handlers
from services.revenue.store import RevenueStore
from tests.conftest import Stack
from tests.e2e.deals import (
    ADJUST,
    APPROVE_TIME,
    CLOSE_WON,
    PERSON,
    SUBMIT,
    Deals,
    billing_books,
    codes,
    drop_databases,
    recognitions,
    recognized,
    replayed,
    revenue_books,
    run,
    running_deals,
    unbalanced_entries,
    whole_stream,
)
from tests.support import eventually

AMEND = """mutation($id: ID!, $i: AmendEngagementInput!, $k: String) {
  amendEngagement(id: $id, input: $i, idempotencyKey: $k) {
    engagement {
      version contractValue { amount } budget { hours } rateCard { role billRate }
      milestones { id name amount { amount } status }
      amendments { version effectiveDate reason actor }
    }
    amendment { version effectiveDate reason actor contractValue { amount } rateCardVersion }
    warnings
  }
}"""
TERMS = """query($id: ID!) { engagement(id: $id) {
  version contractValue { amount } budget { hours } amendments { version }
} }"""
VIEW = """query($id: ID!) { engagement(id: $id) {
  version contractValue { amount } budget { hours } amendments { version }
  revenue { recognized { amount } percentComplete }
} }"""
COMPLETE = (
    """mutation($id: ID!, $d: Date!) { completeEngagement(id: $id, completedOn: $d) { id } }"""
)
COMPLETE_MILESTONE = """mutation($id: ID!, $d: Date!) {
  completeMilestone(id: $id, completedOn: $d) { id status }
}"""
RUN = """mutation($c: Date!, $e: ID) {
  runBilling(cutoff: $c, engagementId: $e) {
    total { amount } lines { kind quantity unitPrice { amount } amount { amount } }
  }
}"""


@pytest.fixture(scope="module")
async def deals(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deals]:
    async with running_deals(stack, module_nats, tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def gql(deals: Deals) -> httpx.AsyncClient:
    return deals.client


async def won(gql: httpx.AsyncClient, opportunity: str, **terms: Any) -> str:
    body = await run(gql, CLOSE_WON, ("sales",), input={
        "source": "hubspot", "opportunityId": opportunity,
        "account": {"externalId": f"acc-{opportunity}", "name": f"{opportunity} Inc",
                    "country": "US"},
        "name": opportunity, "legalEntity": "US01", "currency": "USD",
        "startDate": "2026-01-05", "endDate": "2026-12-31",
        "rateCard": [{"role": "senior", "billRate": "200", "costRate": "100"}], **terms,
    })  # fmt: skip
    engagement_id: str = body["data"]["closeWonOpportunity"]["engagement"]["id"]
    return engagement_id


async def work(
    gql: httpx.AsyncClient, engagement_id: str, person: str, days: list[str], hours: str
) -> list[dict[str, Any]]:
    """Submits and approves `hours` on each day; the approved entries."""
    await run(gql, PERSON, p={"id": person, "name": person, "homeEntity": "US01"})
    entries = [
        {"engagementId": engagement_id, "personId": person, "role": "senior", "date": d,
         "hours": hours}
        for d in days
    ]  # fmt: skip
    submitted = await run(gql, SUBMIT, ("delivery",), e=entries)
    ids = [t["id"] for t in submitted["data"]["submitTime"]]
    approved: list[dict[str, Any]] = (await run(gql, APPROVE_TIME, ("delivery",), ids=ids))["data"][
        "approveTime"
    ]
    return approved


def days(start: dt.date, count: int) -> list[str]:
    return [(start + dt.timedelta(days=n)).isoformat() for n in range(count)]


async def books_at(deals: Deals, engagement_id: str, amount: str, postings: list[str]) -> None:
    """Recognized shows `amount`; the postings so far are `postings`; every entry balances."""
    await recognized(deals.client, engagement_id, amount)
    url = deals.settings.database_url_for("revenue")
    assert await recognitions(url, engagement_id) == [Decimal(p) for p in postings]
    assert await unbalanced_entries(url, engagement_id) == []


async def test_fixed_fee_amended_to_130000_over_600_hours_catches_up_then_completes(
    deals: Deals,
) -> None:
    gql = deals.client
    e = await won(gql, "AMEND-FF", billingModel="FIXED_FEE", contractValue="100000.00",
                  budgetHours="500")  # fmt: skip
    # January: 25 days x 8 h = 200 h of 500 = 40 % of 100,000.00 = 40,000.00.
    await work(gql, e, "p-amend-ff", days(dt.date(2026, 1, 5), 25), "8")
    await books_at(deals, e, "40000.00", ["40000.00"])

    # Amended from 1 February to 130,000.00 / 600 h by finance; nothing is posted yet.
    amendment = {"effectiveDate": "2026-02-01", "reason": "CR-1: phase 2 added",
                 "contractValue": "130000.00", "budgetHours": "600"}  # fmt: skip
    body = await run(gql, AMEND, ("finance",), subject="fin-ana", id=e, i=amendment, k="ff-1")
    done = body["data"]["amendEngagement"]
    assert done["engagement"]["contractValue"] == {"amount": "130000.00"}
    assert done["engagement"]["budget"] == {"hours": "600"}
    assert done["engagement"]["amendments"] == [
        {"version": 2, "effectiveDate": "2026-02-01", "reason": "CR-1: phase 2 added",
         "actor": "fin-ana"}
    ]  # fmt: skip
    assert done["amendment"]["contractValue"] == {"amount": "130000.00"}
    assert done["warnings"] == []
    again = await run(gql, AMEND, ("finance",), subject="fin-ana", id=e, i=amendment, k="ff-1")
    assert again["data"]["amendEngagement"] == done  # the same key: amended once
    view = (await run(gql, VIEW, id=e))["data"]["engagement"]
    assert [a["version"] for a in view["amendments"]] == [2]

    # February: 10 days x 10 h = 100 h; 300 of 600 = 50 % of 130,000.00 = 65,000.00 cumulative;
    # this posting is 65,000.00 - 40,000.00 = 25,000.00.
    await work(gql, e, "p-amend-ff", days(dt.date(2026, 2, 2), 10), "10")
    await books_at(deals, e, "65000.00", ["40000.00", "25000.00"])

    # Completion recognizes the rest: 130,000.00 - 65,000.00 = 65,000.00.
    await run(gql, COMPLETE, ("delivery",), id=e, d="2026-02-27")
    await books_at(deals, e, "130000.00", ["40000.00", "25000.00", "65000.00"])
    late = await run(gql, AMEND, ("finance",), id=e, i={**amendment, "budgetHours": "700"})
    assert codes(late) == ["CONFLICT"]  # a COMPLETED engagement is never amended


async def test_time_and_materials_bills_each_day_at_the_card_in_effect(
    gql: httpx.AsyncClient,
) -> None:
    e = await won(gql, "AMEND-TM", billingModel="TIME_AND_MATERIALS", startDate="2026-03-01",
                  endDate="2026-06-30")  # fmt: skip
    await run(gql, PERSON, p={"id": "p-amend-tm", "name": "Tam", "homeEntity": "US01"})
    entries = [
        {"engagementId": e, "personId": "p-amend-tm", "role": "senior", "date": d, "hours": "8"}
        for d in ("2026-03-14", "2026-03-15")
    ]
    ids = [
        t["id"] for t in (await run(gql, SUBMIT, ("delivery",), e=entries))["data"]["submitTime"]
    ]
    # Rate card v2 from the 15th: senior 220 (v1: 200); the entries are approved after it.
    card = [{"role": "senior", "billRate": "220", "costRate": "105"}]
    rates = {"effectiveDate": "2026-03-15", "reason": "Rate review", "rateCard": card}
    body = await run(gql, AMEND, ("finance",), id=e, i=rates)
    done = body["data"]["amendEngagement"]
    assert done["amendment"]["rateCardVersion"] == 2
    assert done["engagement"]["rateCard"] == [{"role": "senior", "billRate": "220"}]
    approved = (await run(gql, APPROVE_TIME, ("delivery",), ids=ids))["data"]["approveTime"]
    # The 14th: 8 h x 200.00 = 1,600.00; the 15th: 8 h x 220.00 = 1,760.00.
    assert [a["billAmount"]["amount"] for a in approved] == ["1600.00", "1760.00"]

    async def draft() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await run(gql, RUN, ("finance",), c="2026-03-31", e=e))[
            "data"
        ]["runBilling"]
        return found

    [invoice] = await eventually(draft, what="the two days to be billable")
    assert sorted(
        (line["unitPrice"]["amount"], line["amount"]["amount"]) for line in invoice["lines"]
    ) == [("200.00", "1600.00"), ("220.00", "1760.00")]
    assert invoice["total"] == {"amount": "3360.00"}


async def test_bad_amendments_are_refused_and_write_nothing(gql: httpx.AsyncClient) -> None:
    plan = [
        {"name": "Design", "amount": "4000.00", "dueDate": "2026-03-31"},
        {"name": "Build", "amount": "6000.00", "dueDate": "2026-06-30"},
    ]
    e = await won(gql, "AMEND-BAD", billingModel="FIXED_FEE", contractValue="10000.00",
                  budgetHours="100", milestones=plan)  # fmt: skip
    before = (await run(gql, TERMS, id=e))["data"]["engagement"]
    refusals = [
        ({"effectiveDate": "2026-01-04", "reason": "early", "budgetHours": "90"}, "BAD_USER_INPUT"),
        ({"effectiveDate": "2027-01-01", "reason": "late", "budgetHours": "90"}, "BAD_USER_INPUT"),
        ({"effectiveDate": "2026-02-01", "reason": "sum", "contractValue": "12000.00"},
         "BAD_USER_INPUT"),
    ]  # fmt: skip
    for amendment, code in refusals:
        assert codes(await run(gql, AMEND, ("finance",), id=e, i=amendment)) == [code], amendment
    short = await run(gql, AMEND, ("finance",), id=e,
                      i={"effectiveDate": "2026-02-01", "reason": "sum",
                         "contractValue": "12000.00"})  # fmt: skip
    [error] = short["errors"]
    assert "a difference of 2000.00" in error["message"]  # 12,000 - (4,000 + 6,000)
    ok = {"effectiveDate": "2026-02-01", "reason": "x", "budgetHours": "90"}
    for role in ("sales", "delivery", "executive"):
        assert codes(await run(gql, AMEND, (role,), id=e, i=ok)) == ["FORBIDDEN"], role
    assert (await run(gql, TERMS, id=e))["data"]["engagement"] == before  # nothing written

    # 40 h approved; the budget lowered to 30 h is allowed, says so, and caps progress at 100 %.
    await work(gql, e, "p-amend-bad", days(dt.date(2026, 1, 5), 5), "8")
    await recognized(gql, e, "4000.00")  # 40 / 100 x 10,000.00
    cut = {"effectiveDate": "2026-02-01", "reason": "Scope cut", "budgetHours": "30"}
    body = await run(gql, AMEND, ("finance",), id=e, i=cut)
    [warning] = body["data"]["amendEngagement"]["warnings"]
    assert "capped at 100 %" in warning
    await work(gql, e, "p-amend-bad", ["2026-02-02"], "1")
    await recognized(gql, e, "10000.00")  # min(1, 41 / 30) x 10,000.00
    view = (await run(gql, VIEW, id=e))["data"]["engagement"]
    assert view["revenue"]["percentComplete"] == "100.00"


async def test_replaying_the_project_stream_gives_the_same_books_with_amendments(
    deals: Deals, stack: Stack
) -> None:
    gql = deals.client
    # FIXED_FEE 10,000.00 / 100 h billed by two milestones of 5,000.00.
    plan = [
        {"name": "M1", "amount": "5000.00", "dueDate": "2026-02-27"},
        {"name": "M2", "amount": "5000.00", "dueDate": "2026-06-30"},
    ]
    e = await won(gql, "AMEND-REPLAY", billingModel="FIXED_FEE", contractValue="10000.00",
                  budgetHours="100", milestones=plan)  # fmt: skip
    entries = await work(gql, e, "p-amend-replay", days(dt.date(2026, 2, 2), 2), "20")
    await recognized(gql, e, "4000.00")  # 40 / 100 x 10,000.00
    milestones = {m["name"]: m["id"] for m in (await run(gql, AMEND, ("finance",), id=e, i={
        "effectiveDate": "2026-02-02", "reason": "No-op plan", "milestones": plan,
    }))["data"]["amendEngagement"]["engagement"]["milestones"]}  # fmt: skip
    await run(gql, COMPLETE_MILESTONE, ("delivery",), id=milestones["M1"], d="2026-02-27")
    # Amended to 12,000.00 / 120 h; M2 re-planned to 4,000.00, a new M3 of 3,000.00
    # (5,000 completed + 4,000 + 3,000 = 12,000.00).
    body = await run(gql, AMEND, ("finance",), id=e, i={
        "effectiveDate": "2026-03-01", "reason": "CR-2", "contractValue": "12000.00",
        "budgetHours": "120", "milestones": [
            {"name": "M2", "amount": "4000.00", "dueDate": "2026-06-30"},
            {"name": "M3", "amount": "3000.00", "dueDate": "2026-09-30"},
        ],
    })  # fmt: skip
    after = {m["name"]: m for m in body["data"]["amendEngagement"]["engagement"]["milestones"]}
    assert after["M1"]["status"] == "COMPLETED" and after["M2"]["id"] == milestones["M2"]
    await run(gql, COMPLETE_MILESTONE, ("delivery",), id=after["M3"]["id"], d="2026-03-02")
    # A correction of 20 h to 10 h: 30 of 120 h x 12,000.00 = 3,000.00 (-1,000.00).
    await run(gql, ADJUST, ("delivery",), id=entries[1]["id"], h="10", r="Double-booked")
    await recognized(gql, e, "3000.00")

    project_messages = await whole_stream(deals.settings.nats_url, "PROJECT")
    subjects = {m.subject for m in project_messages}
    assert {"weftwork.project.engagement.amended.v1",
            "weftwork.project.time_entry.adjusted.v1"} <= subjects  # fmt: skip
    billing_messages = await whole_stream(deals.settings.nats_url, "BILLING")
    made: list[str] = []
    try:
        billing_copy = await replayed(
            stack, "billing", project_events_handlers(BillingStore), project_messages, made
        )
        both = [*project_messages, *billing_messages]
        revenue_copy = await replayed(stack, "revenue", revenue_handlers(RevenueStore), both, made)
        copy = await billing_books(billing_copy)
        # The new milestone M3 became billable when it was completed, at 3,000.00.
        assert ("MILESTONE", after["M3"]["id"], Decimal(3000)) in [
            (r[1], r[2], r[7]) for r in copy[0]
        ]
        live_billing = deals.settings.database_url_for("billing")
        live_revenue = deals.settings.database_url_for("revenue")
        await eventually(lambda: billing_books(live_billing), until=lambda b: b == copy,
                         what="the replayed billing books to equal the live ones")  # fmt: skip
        books = await revenue_books(revenue_copy)
        contracts = {str(r[0]): r for r in books[0]}
        assert (contracts[e][9], contracts[e][10], contracts[e][11]) == (Decimal(12000), 120, 3)
        await eventually(lambda: revenue_books(live_revenue), until=lambda b: b == books,
                         what="the replayed revenue books to equal the live ones")  # fmt: skip
    finally:
        await drop_databases(stack, made)
