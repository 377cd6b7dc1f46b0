"""Acceptance (issue #17, DESIGN.md §9) through GraphQL, with all four services on real gRPC,
PostgreSQL and JetStream: the approval gate (DE01 configured to require approval) and
engagement templates."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from mesh.tokens import issue_token
from services.billing.main import SPEC as BILLING
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from services.revenue.main import SPEC as REVENUE
from tests.conftest import Stack, free_port
from tests.support import eventually, serving, settings_for

SECRET = "approval-secret-approval-secret-approval"
CLOSE_WON = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) { engagement { id status setup { project billing revenue } } }
}"""
SUBMIT = """mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id status } }"""
APPROVE = """mutation($id: ID!) { approveEngagement(id: $id) { id status } }"""
SETUP = """query($id: ID!) { engagement(id: $id) { status setup { project billing revenue } } }"""
PERSON = """mutation($p: PersonInput!) { upsertPerson(input: $p) { id } }"""


def bearer(*roles: str) -> dict[str, str]:
    token = issue_token(SECRET, subject="e2e", roles=list(roles), entities=["*"])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def gql(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    ports = {name: free_port() for name in ("customer", "project", "billing", "revenue")}
    settings, _ = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("approval"),
        WEFTWORK_JWT_SECRET=SECRET,
        WEFTWORK_APPROVAL_REQUIRED_ENTITIES="DE01",
        **{f"WEFTWORK_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    )
    async with contextlib.AsyncExitStack() as services:
        for spec in (CUSTOMER, PROJECT, BILLING, REVENUE):
            await services.enter_async_context(serving(spec, settings, port=ports[spec.name]))
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", timeout=30
        ) as client:
            yield client
        await app.state.clients.close()


async def run(
    client: httpx.AsyncClient, query: str, roles: tuple[str, ...] = ("admin",), **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(*roles)
    )
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_a_gated_deal_waits_for_finance_then_billing_and_revenue_set_it_up(
    gql: httpx.AsyncClient,
) -> None:
    won = await run(
        gql,
        CLOSE_WON,
        ("sales",),
        input={
            "source": "hubspot",
            "opportunityId": "GATE-1",
            "account": {"externalId": "acc-gate-1", "name": "Gate GmbH", "country": "DE"},
            "name": "Gated rollout",
            "legalEntity": "DE01",
            "currency": "EUR",
            "billingModel": "TIME_AND_MATERIALS",
            "startDate": "2026-01-05",
            "endDate": "2026-06-30",
            "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
        },
    )
    engagement = won["data"]["closeWonOpportunity"]["engagement"]
    assert engagement["status"] == "PENDING_APPROVAL"
    assert engagement["setup"] == {"project": True, "billing": False, "revenue": False}
    await run(gql, PERSON, p={"id": "p-gate", "name": "Gita", "homeEntity": "DE01"})
    time = [
        {
            "engagementId": engagement["id"],
            "personId": "p-gate",
            "role": "consultant",
            "date": "2026-01-06",
            "hours": "8",
        }
    ]
    assert codes(await run(gql, SUBMIT, ("delivery",), e=time)) == ["CONFLICT"]
    assert codes(await run(gql, APPROVE, ("delivery",), id=engagement["id"])) == ["FORBIDDEN"]
    assert codes(await run(gql, APPROVE, ("sales",), id=engagement["id"])) == ["FORBIDDEN"]

    approved = await run(gql, APPROVE, ("finance",), id=engagement["id"])
    assert approved["data"]["approveEngagement"]["status"] == "ACTIVE"
    view = await eventually(
        lambda: run(gql, SETUP, id=engagement["id"]),
        until=lambda b: (
            b["data"]["engagement"]["setup"]["billing"]
            and b["data"]["engagement"]["setup"]["revenue"]
        ),
        within=30,
        what="billing and revenue to set up the approved engagement",
    )
    assert view["data"]["engagement"]["status"] == "ACTIVE"
    submitted = await run(gql, SUBMIT, ("delivery",), e=time)
    assert [t["status"] for t in submitted["data"]["submitTime"]] == ["SUBMITTED"]


UPSERT_TEMPLATE = """mutation($t: EngagementTemplateInput!) {
  upsertEngagementTemplate(input: $t) { code billingModel milestonePlan { name percent } }
}"""
TEMPLATES = """{ engagementTemplates { code rateCard { role billRate costRate } } }"""
CLOSE_WON_TERMS = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) {
    engagement {
      status billingModel paymentTermsDays expenseMarkupPercent
      rateCard { role billRate }
      milestones { name amount { amount currency } dueDate }
    }
  }
}"""


async def test_a_deal_naming_a_template_gets_what_it_left_out(gql: httpx.AsyncClient) -> None:
    template = {
        "code": "FF-QUARTERS",
        "name": "Fixed fee, quarterly",
        "billingModel": "FIXED_FEE",
        "rateCard": [{"role": "senior", "billRate": "200", "costRate": "110"}],
        "milestonePlan": [
            {"name": f"Q{q}", "percent": "25", "dueDaysAfterStart": 90 * q} for q in (1, 2, 3, 4)
        ],
        "paymentTermsDays": 60,
        "expenseMarkupPercent": "7.5",
    }
    assert codes(await run(gql, UPSERT_TEMPLATE, ("finance",), t=template)) == ["FORBIDDEN"]
    saved = await run(gql, UPSERT_TEMPLATE, t=template)
    assert saved["data"]["upsertEngagementTemplate"]["billingModel"] == "FIXED_FEE"
    listed = await run(gql, TEMPLATES, ("delivery",))
    [mine] = [t for t in listed["data"]["engagementTemplates"] if t["code"] == "FF-QUARTERS"]
    assert mine["rateCard"] == [{"role": "senior", "billRate": "200", "costRate": None}]

    # USD 10,000.01 in quarters: 2,500.0025 each -> floors 2,500.00 x 4 = 10,000.00; the cent
    # left goes to the first of the equal remainders. The deal's 30 days win over the 60.
    won = await run(
        gql,
        CLOSE_WON_TERMS,
        ("sales",),
        input={
            "source": "hubspot",
            "opportunityId": "TPL-1",
            "account": {"externalId": "acc-tpl-1", "name": "Template Inc", "country": "US"},
            "name": "Templated rollout",
            "legalEntity": "US01",
            "currency": "USD",
            "contractValue": "10000.01",
            "budgetHours": "50",
            "startDate": "2026-01-01",
            "endDate": "2026-12-31",
            "paymentTermsDays": 30,
            "templateCode": "FF-QUARTERS",
        },
    )
    e = won["data"]["closeWonOpportunity"]["engagement"]
    assert (e["status"], e["billingModel"], e["paymentTermsDays"]) == ("ACTIVE", "FIXED_FEE", 30)
    assert e["expenseMarkupPercent"] == "7.5"
    assert e["rateCard"] == [{"role": "senior", "billRate": "200"}]
    assert [(m["name"], m["amount"]["amount"], m["dueDate"]) for m in e["milestones"]] == [
        ("Q1", "2500.01", "2026-04-01"),
        ("Q2", "2500.00", "2026-06-30"),
        ("Q3", "2500.00", "2026-09-28"),
        ("Q4", "2500.00", "2026-12-27"),
    ]


EXPENSE = """mutation($x: ExpenseInput!) { submitExpense(input: $x) { id status } }"""
APPROVE_EXPENSES = """mutation($ids: [ID!]!) { approveExpenses(ids: $ids) { id status } }"""
REJECT_EXPENSES = """mutation($ids: [ID!]!, $r: String!) {
  rejectExpenses(ids: $ids, reason: $r) { id status rejectionReason billableAmount { amount } }
}"""


async def test_delivery_rejects_submitted_expenses_and_approved_ones_conflict(
    gql: httpx.AsyncClient,
) -> None:
    won = await run(
        gql,
        CLOSE_WON,
        ("sales",),
        input={
            "source": "hubspot",
            "opportunityId": "EXP-1",
            "account": {"externalId": "acc-exp-1", "name": "Expense LLC", "country": "US"},
            "name": "Expenses",
            "legalEntity": "US01",
            "currency": "USD",
            "billingModel": "TIME_AND_MATERIALS",
            "startDate": "2026-01-05",
            "endDate": "2026-06-30",
            "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
        },
    )
    engagement_id = won["data"]["closeWonOpportunity"]["engagement"]["id"]
    await run(gql, PERSON, p={"id": "p-exp", "name": "Ezra", "homeEntity": "US01"})
    x = {
        "engagementId": engagement_id,
        "personId": "p-exp",
        "date": "2026-01-07",
        "amount": "45.10",
        "category": "meals",
    }
    ids = [
        (await run(gql, EXPENSE, ("delivery",), x=x))["data"]["submitExpense"]["id"] for _ in "ab"
    ]
    assert codes(await run(gql, REJECT_EXPENSES, ("sales",), ids=ids, r="No")) == ["FORBIDDEN"]
    await run(gql, APPROVE_EXPENSES, ("delivery",), ids=[ids[0]])
    refused = await run(gql, REJECT_EXPENSES, ("delivery",), ids=ids, r="No receipt")
    assert codes(refused) == ["CONFLICT"]
    rejected = await run(gql, REJECT_EXPENSES, ("delivery",), ids=[ids[1]], r="No receipt")
    assert rejected["data"]["rejectExpenses"] == [
        {
            "id": ids[1],
            "status": "REJECTED",
            "rejectionReason": "No receipt",
            "billableAmount": None,
        }
    ]
