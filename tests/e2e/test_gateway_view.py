# ruff: noqa: E501  (the mutation table below reads best one line per mutation)
"""The engagement view under load and under authorization: batched reads, roles, entity scope,
cost visibility, and the live subscription, against the whole platform."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql import gql as document
from gql.transport.websockets import WebsocketsTransport

from gateway.auth import MUTATION_ROLES
from tests.e2e.platform import Platform, gql, post
from tests.support import eventually

CLOSE_WON = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) { engagement { id legalEntity } }
}"""


def won(ref: str, entity: str = "US01", currency: str = "USD") -> dict[str, Any]:
    return {
        "source": "hubspot",
        "opportunityId": ref,
        "account": {"externalId": f"a-{ref}", "name": f"Account {ref}", "country": "US"},
        "name": f"View {ref}",
        "legalEntity": entity,
        "currency": currency,
        "billingModel": "TIME_AND_MATERIALS",
        "startDate": "2026-01-01",
        "endDate": "2026-12-31",
        "rateCard": [{"role": "dev", "billRate": "100", "costRate": "60"}],
    }


@pytest.fixture(scope="module")
async def hundred(api: Platform) -> list[str]:
    """100 engagements: 80 in US01 and 20 in UK01."""
    ids = []
    for i in range(100):
        entity, currency = ("UK01", "GBP") if i % 5 == 0 else ("US01", "USD")
        data = await gql(api, CLOSE_WON, input=won(f"V-{i:03d}", entity, currency))
        ids.append(data["closeWonOpportunity"]["engagement"]["id"])
    return ids


PAGE = """{ engagements(first: 100) {
  edges { node { id legalEntity customer { name } invoices { number } setup { billing revenue }
                 revenue { recognized { amount } } } }
  pageInfo { hasNextPage } } }"""


async def test_a_page_of_100_costs_one_call_per_downstream_service(
    api: Platform, hundred: list[str]
) -> None:
    counter = api.app.state.clients.counter
    counter.calls.clear()
    data = await gql(api, PAGE)
    assert len(data["engagements"]["edges"]) == 100
    assert dict(counter.calls) == {
        "/weftwork.project.v1.ProjectService/ListEngagements": 1,
        "/weftwork.customer.v1.CustomerService/BatchGetCustomers": 1,
        "/weftwork.billing.v1.BillingService/BatchGetInvoicesByEngagement": 1,
        "/weftwork.revenue.v1.RevenueService/BatchGetPositions": 1,
    }


async def test_lists_and_lookups_stay_inside_the_callers_entities(
    api: Platform, hundred: list[str]
) -> None:
    uk_only = api.as_("executive", entities=["UK01"])
    listed = await post(
        api, "{ engagements(first: 100) { edges { node { legalEntity } } } }", uk_only
    )
    entities = {e["node"]["legalEntity"] for e in listed["data"]["engagements"]["edges"]}
    assert entities == {"UK01"}
    assert len(listed["data"]["engagements"]["edges"]) == 20
    us_engagement = hundred[1]
    hidden = await post(
        api, "query($id: ID!) { engagement(id: $id) { id } }", uk_only, id=us_engagement
    )
    assert hidden["data"] == {"engagement": None}
    outside = await post(api, '{ engagements(legalEntity: "US01") { edges { cursor } } }', uk_only)
    assert outside["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Writes: a UK-only salesperson cannot close a US deal, nor UK-only delivery staff log US time.
    refused = await post(api, CLOSE_WON, api.as_("sales", entities=["UK01"]), input=won("X-1"))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    submit = """mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id } }"""
    entry = {
        "engagementId": us_engagement,
        "personId": "p",
        "role": "dev",
        "date": "2026-02-02",
        "hours": "1",
    }
    refused = await post(api, submit, api.as_("delivery", entities=["UK01"]), e=[entry])
    # Outside the caller's entities the engagement does not exist for them: the very answer a
    # random id gets, so nothing tells who owns it.
    missing = await post(
        api,
        submit,
        api.as_("delivery", entities=["UK01"]),
        e=[{**entry, "engagementId": "00000000-0000-4000-8000-00000000abcd"}],
    )
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert refused["errors"][0]["message"] == f"engagement {us_engagement} not found"
    assert missing["errors"][0]["message"].replace("00000000-0000-4000-8000-00000000abcd", "X") == (
        refused["errors"][0]["message"].replace(us_engagement, "X")
    )


# One call per mutation with arguments that parse; what matters is whether the role passes.
MUTATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "closeWonOpportunity": (
        "mutation($i: OpportunityWonInput!) { closeWonOpportunity(input: $i) { customerMatchedBy } }",
        {"i": won("M-1")},
    ),
    "upsertPerson": (
        'mutation { upsertPerson(input: {id: "p-m", name: "M", homeEntity: "US01"}) { id } }',
        {},
    ),
    "submitTime": (
        "mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id } }",
        {"e": []},
    ),
    "approveTime": ("mutation { approveTime(ids: []) { id } }", {}),
    "rejectTime": ('mutation { rejectTime(ids: [], reason: "no") { id } }', {}),
    "submitExpense": (
        "mutation($x: ExpenseInput!) { submitExpense(input: $x) { id } }",
        {
            "x": {
                "engagementId": "00000000-0000-4000-8000-000000000000",
                "personId": "p",
                "date": "2026-01-02",
                "amount": "1",
                "category": "travel",
            }
        },
    ),
    "approveExpenses": ("mutation { approveExpenses(ids: []) { id } }", {}),
    "completeMilestone": (
        'mutation { completeMilestone(id: "00000000-0000-4000-8000-000000000000", completedOn: "2026-01-02") { id } }',
        {},
    ),
    "completeEngagement": (
        'mutation { completeEngagement(id: "00000000-0000-4000-8000-000000000000", completedOn: "2026-01-02") { id } }',
        {},
    ),
    "runBilling": ('mutation { runBilling(cutoff: "2025-01-01") { id } }', {}),
    "issueInvoice": (
        'mutation { issueInvoice(id: "00000000-0000-4000-8000-000000000000", issueDate: "2026-01-02") { id } }',
        {},
    ),
    "voidInvoice": (
        'mutation { voidInvoice(id: "00000000-0000-4000-8000-000000000000", reason: "x") { id } }',
        {},
    ),
    "recordPayment": (
        'mutation { recordPayment(invoiceId: "00000000-0000-4000-8000-000000000000", amount: "1", receivedOn: "2026-01-02", reference: "r") { id } }',
        {},
    ),
    "closePeriod": (
        'mutation { closePeriod(legalEntity: "US01", period: "2020-01") { period } }',
        {},
    ),
    "mergeCustomers": (
        'mutation { mergeCustomers(survivorId: "00000000-0000-4000-8000-000000000000", mergedId: "00000000-0000-4000-8000-000000000001") { id } }',
        {},
    ),
    "approveEngagement": (
        'mutation { approveEngagement(id: "00000000-0000-4000-8000-000000000000") { id } }',
        {},
    ),
    "rejectExpenses": ('mutation { rejectExpenses(ids: [], reason: "no") { id } }', {}),
    "updateCustomer": (
        'mutation { updateCustomer(id: "00000000-0000-4000-8000-000000000000", input: {name: "x"}) { id } }',
        {},
    ),
    "setPurchaseOrderNumber": (
        'mutation { setPurchaseOrderNumber(engagementId: "00000000-0000-4000-8000-000000000000", purchaseOrderNumber: "PO-1") { id } }',
        {},
    ),
    "adjustTime": (
        'mutation { adjustTime(id: "00000000-0000-4000-8000-000000000000", hours: "1", reason: "x") { changed } }',
        {},
    ),
    "amendEngagement": (
        'mutation { amendEngagement(id: "00000000-0000-4000-8000-000000000000", input: {effectiveDate: "2026-01-02", reason: "x", budgetHours: "1"}) { warnings } }',
        {},
    ),
}


@pytest.mark.parametrize("role", ["sales", "delivery", "finance", "executive", "admin"])
async def test_each_role_runs_exactly_its_mutations(api: Platform, role: str) -> None:
    assert set(MUTATIONS) == set(MUTATION_ROLES)
    for name, (query, variables) in MUTATIONS.items():
        body = await post(api, query, api.as_(role), **variables)
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        allowed = role == "admin" or role in MUTATION_ROLES[name]
        assert ("FORBIDDEN" not in codes) == allowed, (role, name, body)


async def test_cost_and_margin_are_hidden_from_sales_and_delivery(
    api: Platform, hundred: list[str]
) -> None:
    view = """query($id: ID!) { engagement(id: $id) {
      rateCard { costRate } revenue { recognized { amount } cost { amount } margin { amount } } } }"""
    await eventually_set_up(api, hundred[2])
    for role, sees in [
        ("sales", False),
        ("delivery", False),
        ("finance", True),
        ("executive", True),
    ]:
        data = (await post(api, view, api.as_(role), id=hundred[2]))["data"]["engagement"]
        assert (data["rateCard"][0]["costRate"] is not None) == sees, role
        assert (data["revenue"]["cost"] is not None) == sees, role
        assert (data["revenue"]["margin"] is not None) == sees, role
        assert data["revenue"]["recognized"] is not None


async def eventually_set_up(api: Platform, engagement_id: str) -> None:
    await eventually(
        lambda: gql(
            api,
            "query($id: ID!) { engagement(id: $id) { revenue { recognized { amount } } } }",
            id=engagement_id,
        ),
        until=lambda d: d["engagement"]["revenue"] is not None,
        what="revenue to set the engagement up",
    )


async def test_a_subscriber_sees_an_engagements_events_in_order(api: Platform) -> None:
    engagement = (await gql(api, CLOSE_WON, input=won("SUB-1")))["closeWonOpportunity"][
        "engagement"
    ]
    await gql(
        api, 'mutation { upsertPerson(input: {id: "sub-p", name: "S", homeEntity: "US01"}) { id } }'
    )
    transport = WebsocketsTransport(
        url=api.url.replace("http", "ws"),
        init_payload={"Authorization": f"Bearer {api.token('admin')}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    subscription = document(
        "subscription($id: ID!) { engagementEvents(id: $id) { id type source aggregateVersion } }"
    )
    received: list[dict[str, Any]] = []
    days = iter(range(1, 29))
    calls = 0

    async def approve_one() -> int:
        nonlocal calls
        calls += 1
        entry = {
            "engagementId": engagement["id"],
            "personId": "sub-p",
            "role": "dev",
            "date": f"2026-03-{next(days):02d}",
            "hours": "2",
        }
        ids = [t["id"] for t in (await gql(api, SUBMIT, e=[entry]))["submitTime"]]
        await gql(api, APPROVE, ids=ids)
        return len(received)

    def approvals() -> list[dict[str, Any]]:
        return [e for e in received if e["type"] == "weftwork.project.time_entry.approved.v1"]

    async with Client(transport=transport) as session:
        listening = asyncio.ensure_future(
            _collect(session, subscription, engagement["id"], received)
        )
        # Until the first event arrives the subscription may not be live yet: produce one event
        # at a time until the subscriber sees something.
        await eventually(
            approve_one, until=lambda seen: seen > 0, within=30, what="a live subscription"
        )
        # Approvals made while the subscription was starting may or may not be seen, and may
        # still be on their way: events arrive in order, so once the one carrying the latest
        # engagement version is here, none is left in flight.
        latest = await gql(
            api, "query($id: ID!) { engagement(id: $id) { version } }", id=engagement["id"]
        )
        await eventually(
            lambda: asyncio.sleep(0, result=[e["aggregateVersion"] for e in approvals()]),
            until=lambda seen: max(seen, default=0) >= latest["engagement"]["version"],
            within=10,
            what="the warm-up approvals",
        )
        before = len(approvals())
        for _ in range(3):
            await approve_one()
        await eventually(
            lambda: asyncio.sleep(0, result=len(approvals())),
            until=lambda n: n >= before + 3,
            within=30,
            what="three more approvals",
        )
        listening.cancel()
    # The project's events arrive in the order they were produced (engagement versions rise),
    # next to the revenue they caused; no event twice. A warm-up approval made before the
    # subscription was live may arrive or not (its relay can publish either side of it), so
    # the count is bounded by the approvals made, not fixed.
    versions = [e["aggregateVersion"] for e in approvals()]
    assert versions == sorted(versions)
    assert before + 3 <= len(approvals()) <= calls
    assert {e["source"] for e in received} <= {"/weftwork/project", "/weftwork/revenue"}
    assert any(e["type"] == "weftwork.revenue.revenue.recognized.v1" for e in received)
    assert len({e["id"] for e in received}) == len(received)


SUBMIT = "mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id } }"
APPROVE = "mutation($ids: [ID!]!) { approveTime(ids: $ids) { id } }"


async def _collect(
    session: Any, subscription: Any, engagement_id: str, into: list[dict[str, Any]]
) -> None:
    request = GraphQLRequest(subscription, variable_values={"id": engagement_id})
    async for result in session.subscribe(request):
        into.append(result["engagementEvents"])


async def test_integration_status_shows_every_outbox_and_consumer_and_settles(
    api: Platform, hundred: list[str]
) -> None:
    query = """{ integrationStatus { settled
      outboxes { service unpublished }
      consumers { stream name pending ackPending redelivered }
      deadLetters { service consumer pending } } }"""

    status = await eventually(
        lambda: gql(api, query),
        until=lambda d: d["integrationStatus"]["settled"],
        what="every event delivered",
    )
    found = status["integrationStatus"]
    assert {o["service"] for o in found["outboxes"]} == {
        "customer",
        "project",
        "billing",
        "revenue",
        "connect",
    }
    assert {(c["stream"], c["name"]) for c in found["consumers"]} >= {
        ("CUSTOMER", "project-customer"),
        ("CUSTOMER", "billing-customer"),
        ("PROJECT", "billing-project"),
        ("PROJECT", "revenue-project"),
        ("BILLING", "revenue-billing"),
        # Connect passes every domain's events on (webhooks, CRM write-back).
        ("PROJECT", "connect-project"),
        ("BILLING", "connect-billing"),
        ("REVENUE", "connect-revenue"),
        ("CUSTOMER", "connect-customer"),
    }
    assert found["deadLetters"] == []


async def test_expenses_are_submitted_approved_and_listed_with_markup(api: Platform) -> None:
    spec = {**won("EXP-1"), "expenseMarkupPercent": "10"}
    engagement = (await gql(api, CLOSE_WON, input=spec))["closeWonOpportunity"]["engagement"]
    await gql(
        api, 'mutation { upsertPerson(input: {id: "exp-p", name: "E", homeEntity: "US01"}) { id } }'
    )
    submit = """mutation($x: ExpenseInput!) { submitExpense(input: $x) { id status } }"""
    ids = []
    for amount, billable in (("200.00", True), ("35.50", False)):
        x = {
            "engagementId": engagement["id"],
            "personId": "exp-p",
            "date": "2026-02-03",
            "amount": amount,
            "category": "travel",
            "billable": billable,
            "externalId": f"exp-{amount}",
        }
        ids.append((await gql(api, submit, x=x))["submitExpense"]["id"])
    approved = await gql(
        api, "mutation($ids: [ID!]!) { approveExpenses(ids: $ids) { status } }", ids=ids
    )
    assert [e["status"] for e in approved["approveExpenses"]] == ["APPROVED", "APPROVED"]
    query = """query($id: ID!, $after: String) { engagement(id: $id) {
        expenses(first: 1, after: $after) {
          edges { node { amount { amount } billableAmount { amount } billable } }
          pageInfo { hasNextPage endCursor } } } }"""
    first = (await gql(api, query, id=engagement["id"]))["engagement"]["expenses"]
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    second = (await gql(api, query, id=engagement["id"], after=after))["engagement"]["expenses"]
    assert second["pageInfo"]["hasNextPage"] is False
    nodes = [e["node"] for e in first["edges"] + second["edges"]]
    # 200.00 x (1 + 10%) = 220.00 billable; the non-billable 35.50 bills nothing.
    assert sorted((n["amount"]["amount"], n["billableAmount"]["amount"]) for n in nodes) == [
        ("200.00", "220.00"),
        ("35.50", "0.00"),
    ]
