"""Acceptance (issue #17, DESIGN.md §9) through GraphQL, with all four services on real gRPC,
PostgreSQL and JetStream: the approval gate (DE01 configured to require approval) and
engagement templates."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from gateway.app import create_app
from mesh.db import create_pool, in_transaction
from mesh.events.handlers import EventHandlers
from mesh.events.inbox import apply_once
from mesh.migrations import migrate, service_components
from mesh.settings import Settings, with_database
from mesh.tokens import issue_token
from services.billing.consumers import project_events_handlers
from services.billing.main import SPEC as BILLING
from services.billing.store import BillingStore
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from services.revenue.consumers import event_handlers as revenue_handlers
from services.revenue.main import SPEC as REVENUE
from services.revenue.store import RevenueStore
from tests.conftest import Stack
from tests.support import (
    as_nats_user,
    eventually,
    legal_entities_json,
    serving,
    settings_for,
    with_grpc_ports,
)

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


@dataclass
class Deals:
    client: httpx.AsyncClient  # the gateway, in-process
    settings: Settings  # the services' databases and NATS


@pytest.fixture(scope="module")
async def deals(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deals]:
    settings, _ = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("approval"),
        WEFTWORK_JWT_SECRET=SECRET,
        WEFTWORK_LEGAL_ENTITIES=legal_entities_json(DE01=True),
    )
    async with contextlib.AsyncExitStack() as services:
        for spec in (CUSTOMER, PROJECT, BILLING, REVENUE):
            port, _ = await services.enter_async_context(serving(spec, settings))
            settings = with_grpc_ports(settings, **{spec.name: port})
        app = create_app(as_nats_user(settings, "gateway"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", timeout=30
        ) as client:
            yield Deals(client, settings)
        await app.state.clients.close()


@pytest.fixture(scope="module")
def gql(deals: Deals) -> httpx.AsyncClient:
    return deals.client


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


APPROVE_TIME = """mutation($ids: [ID!]!) { approveTime(ids: $ids) { id billAmount { amount } } }"""
RUN = """mutation($c: Date!, $e: ID) {
  runBilling(cutoff: $c, engagementId: $e) {
    id status total { amount } lines { kind quantity unitPrice { amount } amount { amount } }
  }
}"""
ISSUE = """mutation($id: ID!, $d: Date!) { issueInvoice(id: $id, issueDate: $d) { status } }"""
ADJUST = """mutation($id: ID!, $h: Decimal!, $r: String!, $k: String) {
  adjustTime(id: $id, hours: $h, reason: $r, idempotencyKey: $k) {
    changed
    original { id hours status billAmount { amount } }
    reversal { id hours billAmount { amount } correctsTimeEntryId correctionReason }
    replacement { id hours billAmount { amount } correctsTimeEntryId }
  }
}"""
INVOICE = """query($id: ID!) {
  invoice(id: $id) { status total { amount } lines { quantity amount { amount } } }
}"""
RECOGNIZED = """query($id: ID!) { engagement(id: $id) { revenue { recognized { amount } } } }"""


async def recognized(gql: httpx.AsyncClient, engagement_id: str, amount: str) -> None:
    def shows(body: dict[str, Any]) -> bool:
        revenue = body["data"]["engagement"]["revenue"]
        return revenue is not None and revenue["recognized"]["amount"] == amount

    await eventually(
        lambda: run(gql, RECOGNIZED, id=engagement_id), until=shows, within=30,
        what=f"revenue to show {amount} recognized",
    )  # fmt: skip


async def test_a_corrected_entry_is_credited_on_the_next_run_and_taken_back_from_revenue(
    gql: httpx.AsyncClient,
) -> None:
    won = await run(
        gql,
        CLOSE_WON,
        ("sales",),
        input={
            "source": "hubspot",
            "opportunityId": "FIX-1",
            "account": {"externalId": "acc-fix-1", "name": "Fix Corp", "country": "US"},
            "name": "Corrections",
            "legalEntity": "US01",
            "currency": "USD",
            "billingModel": "TIME_AND_MATERIALS",
            "startDate": "2026-01-05",
            "endDate": "2026-06-30",
            "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
        },
    )
    engagement_id = won["data"]["closeWonOpportunity"]["engagement"]["id"]
    await run(gql, PERSON, p={"id": "p-fix", "name": "Fay", "homeEntity": "US01"})
    entry = {
        "engagementId": engagement_id, "personId": "p-fix", "role": "consultant",
        "date": "2026-01-14", "hours": "8",
    }  # fmt: skip
    [submitted] = (await run(gql, SUBMIT, ("delivery",), e=[entry]))["data"]["submitTime"]
    original = submitted["id"]
    # A SUBMITTED entry is not corrected: it is resubmitted (CONFLICT, nothing written).
    assert codes(await run(gql, ADJUST, ("delivery",), id=original, h="6", r="x")) == ["CONFLICT"]
    [rated] = (await run(gql, APPROVE_TIME, ("delivery",), ids=[original]))["data"]["approveTime"]
    assert rated["billAmount"]["amount"] == "1200.00"  # 8 h x 150.00

    async def drafts(cutoff: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (
            await run(gql, RUN, ("finance",), c=cutoff, e=engagement_id)
        )["data"]["runBilling"]
        return found

    [first] = await eventually(lambda: drafts("2026-01-31"), what="the 8 h to be billable")
    assert first["total"]["amount"] == "1200.00"
    await run(gql, ISSUE, ("finance",), id=first["id"], d="2026-01-31")
    await recognized(gql, engagement_id, "1200.00")

    # Corrected to 6 h: reversal -8 h / -1,200.00 and replacement 6 h / 900.00 at 150.00.
    adjusted = await run(gql, ADJUST, ("delivery",), id=original, h="6", r="Typo", k="fix-1")
    done = adjusted["data"]["adjustTime"]
    assert done["changed"] is True
    assert done["original"] == {
        "id": original, "hours": "8", "status": "APPROVED", "billAmount": {"amount": "1200.00"}
    }  # fmt: skip
    assert (done["reversal"]["hours"], done["reversal"]["billAmount"]) == (
        "-8", {"amount": "-1200.00"}
    )  # fmt: skip
    assert done["reversal"]["correctsTimeEntryId"] == original
    assert done["reversal"]["correctionReason"] == "Typo"
    assert (done["replacement"]["hours"], done["replacement"]["billAmount"]) == (
        "6", {"amount": "900.00"}
    )  # fmt: skip
    again = await run(gql, ADJUST, ("delivery",), id=original, h="6", r="Typo", k="fix-1")
    assert again["data"]["adjustTime"] == done  # the same key: once
    replacement = done["replacement"]["id"]
    same = await run(gql, ADJUST, ("delivery",), id=replacement, h="6", r="Again")
    assert same["data"]["adjustTime"]["changed"] is False  # the same hours: a no-op
    twice = await run(gql, ADJUST, ("delivery",), id=original, h="5", r="Twice")
    assert codes(twice) == ["CONFLICT"]  # corrected already: adjust the replacement

    # The next run bills the difference: one credit line of 6 - 8 = -2 h, 900 - 1,200 = -300.00.
    [credit] = await eventually(lambda: drafts("2026-02-28"), what="the correction's credit")
    assert credit["id"] != first["id"]
    assert credit["lines"] == [
        {"kind": "TIME", "quantity": "-2", "unitPrice": {"amount": "150.00"},
         "amount": {"amount": "-300.00"}},
    ]  # fmt: skip
    assert credit["total"]["amount"] == "-300.00"
    # A draft that only credits is not issued until later work outweighs it.
    assert codes(await run(gql, ISSUE, ("finance",), id=credit["id"], d="2026-02-28")) == [
        "CONFLICT"
    ]
    # Revenue takes back 300.00 (1,200.00 -> 900.00); the issued invoice is untouched.
    await recognized(gql, engagement_id, "900.00")
    invoice = (await run(gql, INVOICE, ("finance",), id=first["id"]))["data"]["invoice"]
    assert invoice == {
        "status": "ISSUED", "total": {"amount": "1200.00"},
        "lines": [{"quantity": "8", "amount": {"amount": "1200.00"}}],
    }  # fmt: skip


BILLING_DIR = Path(__file__).resolve().parents[2] / "services" / "billing"
REVENUE_DIR = Path(__file__).resolve().parents[2] / "services" / "revenue"


async def whole_stream(nats_url: str, name: str) -> list[Any]:
    """Every message of a stream, in stream order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(name)).state.last_seq
        sub = await js.subscribe(f"weftwork.{name.lower()}.>", ordered_consumer=True)
        found: list[Any] = []
        while last and (not found or found[-1].metadata.sequence.stream < last):
            found.append(await sub.next_msg(timeout=5))
        return found
    finally:
        await nc.close()


async def replayed(
    stack: Stack, service: str, table: EventHandlers, messages: list[Any], made: list[str]
) -> str:
    """A new, migrated database of `service` with `messages` applied as its consumers would."""
    name = f"t_replay_{service}_{uuid.uuid4().hex[:10]}"
    made.append(name)
    url = with_database(stack.database_url, name)
    pool = await create_pool(url, max_size=2)
    try:
        async with pool.acquire() as conn:
            directory = BILLING_DIR if service == "billing" else REVENUE_DIR
            await migrate(conn, service_components(service, directory))
        for m in messages:
            if table.get(m.subject) is None:
                continue  # a subject this service does not consume
            await in_transaction(
                pool,
                lambda conn, m=m: apply_once(  # type: ignore[misc]
                    conn, consumer="replay", handlers=table, subject=m.subject,
                    headers=dict(m.headers), payload=m.data,
                ),
            )  # fmt: skip
    finally:
        await pool.close()
    return url


async def billing_books(url: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT engagement_id, kind, source_id, service_date, description, quantity,"
            " unit_price, amount, currency FROM billable_items ORDER BY kind, source_id"
        )
    finally:
        await conn.close()
    return [tuple(r) for r in rows]


async def revenue_books(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Contract balances and each engagement's net per account (the order the two streams
    interleave in may split a posting differently between unbilled and deferred on the way,
    never where the accounts end)."""
    conn = await asyncpg.connect(url)
    try:
        contracts = await conn.fetch(
            "SELECT engagement_id, recognized, recognized_fee, billed, cost, unbilled_receivable,"
            " deferred_revenue, approved_hours, completed_on FROM contracts ORDER BY engagement_id"
        )
        nets = await conn.fetch(
            "SELECT e.engagement_id, l.account, sum(l.debit) - sum(l.credit) AS net"
            " FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id"
            " GROUP BY e.engagement_id, l.account ORDER BY e.engagement_id, l.account"
        )
    finally:
        await conn.close()
    return [tuple(r) for r in contracts], [tuple(r) for r in nets]


async def test_replaying_the_project_stream_gives_the_same_books_with_corrections(
    deals: Deals, stack: Stack
) -> None:
    gql = deals.client
    # FIXED_FEE 10,000.00 / 100 h: 40 h -> 4,000.00; corrected to 30 h -> 3,000.00 (-1,000.00).
    won = await run(gql, CLOSE_WON, ("sales",), input={
        "source": "hubspot", "opportunityId": "REPLAY-1",
        "account": {"externalId": "acc-replay-1", "name": "Replay Ltd", "country": "US"},
        "name": "Replay", "legalEntity": "US01", "currency": "USD",
        "billingModel": "FIXED_FEE", "contractValue": "10000.00", "budgetHours": "100",
        "startDate": "2026-01-05", "endDate": "2026-06-30",
        "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
    })  # fmt: skip
    engagement_id = won["data"]["closeWonOpportunity"]["engagement"]["id"]
    await run(gql, PERSON, p={"id": "p-replay", "name": "Rey", "homeEntity": "US01"})
    entry = {
        "engagementId": engagement_id, "personId": "p-replay", "role": "consultant",
        "date": "2026-02-02", "hours": "20",
    }  # fmt: skip
    submitted = await run(gql, SUBMIT, ("delivery",), e=[entry, {**entry, "date": "2026-02-03"}])
    ids = [t["id"] for t in submitted["data"]["submitTime"]]
    await run(gql, APPROVE_TIME, ("delivery",), ids=ids)
    await recognized(gql, engagement_id, "4000.00")
    await run(gql, ADJUST, ("delivery",), id=ids[1], h="10", r="Double-booked")
    await recognized(gql, engagement_id, "3000.00")
    # T&M 4 h x 150.00 = 600.00, corrected to 3 h: a -150.00 item in billing.
    tm = await run(gql, CLOSE_WON, ("sales",), input={
        "source": "hubspot", "opportunityId": "REPLAY-2",
        "account": {"externalId": "acc-replay-1", "name": "Replay Ltd", "country": "US"},
        "name": "Replay T&M", "legalEntity": "US01", "currency": "USD",
        "billingModel": "TIME_AND_MATERIALS", "startDate": "2026-01-05", "endDate": "2026-06-30",
        "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
    })  # fmt: skip
    tm_id = tm["data"]["closeWonOpportunity"]["engagement"]["id"]
    [t] = (
        await run(gql, SUBMIT, ("delivery",), e=[{**entry, "engagementId": tm_id, "hours": "4"}])
    )["data"]["submitTime"]
    await run(gql, APPROVE_TIME, ("delivery",), ids=[t["id"]])
    await run(gql, ADJUST, ("delivery",), id=t["id"], h="3", r="Shorter")
    await recognized(gql, tm_id, "450.00")

    project_messages = await whole_stream(deals.settings.nats_url, "PROJECT")
    subjects = {m.subject for m in project_messages}
    assert "weftwork.project.time_entry.adjusted.v1" in subjects  # corrections are in it
    billing_messages = await whole_stream(deals.settings.nats_url, "BILLING")
    made: list[str] = []
    try:
        billing_copy = await replayed(
            stack, "billing", project_events_handlers(BillingStore), project_messages, made
        )
        both = [*project_messages, *billing_messages]
        revenue_copy = await replayed(stack, "revenue", revenue_handlers(RevenueStore), both, made)
        live_billing = deals.settings.database_url_for("billing")
        live_revenue = deals.settings.database_url_for("revenue")
        copy = await billing_books(billing_copy)
        assert ("TIME", Decimal(-1), Decimal(-150)) in [(r[1], r[5], r[7]) for r in copy]
        await eventually(lambda: billing_books(live_billing), until=lambda b: b == copy,
                         what="the replayed billing items to equal the live ones")  # fmt: skip
        books = await revenue_books(revenue_copy)
        await eventually(lambda: revenue_books(live_revenue), until=lambda b: b == books,
                         what="the replayed revenue books to equal the live ones")  # fmt: skip
    finally:
        admin = await asyncpg.connect(stack.database_url)
        try:
            for name in made:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
