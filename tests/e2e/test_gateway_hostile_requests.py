"""#14 observations 2 and 3 over real HTTP: a client's mistake is a 4xx or BAD_USER_INPUT,
logged without a traceback (a real bug still is INTERNAL and logged as one); an operation that
may cost too much is refused before anything runs, and a principal who spends its budget gets
429 with Retry-After. /healthz answers within 100 ms throughout."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mesh.tokens import issue_token
from tests.e2e.hostile import HealthProbe, captured_logs, healthz_url
from tests.e2e.platform import SECRET, Platform, gql
from tests.e2e.test_gateway_flows import close_won, opportunity

EDGE = ("gateway", "strawberry", "uvicorn", "starlette", "graphql")
INVOICE = "query($id: ID!) { invoice(id: $id) { id } }"
JSON = {"content-type": "application/json"}
CLIENT_CODES = {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "UNAUTHENTICATED"}


def mistakes(token: str) -> dict[str, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {token}"}
    return {
        "missing variable, no token": {"json": {"query": INVOICE, "variables": {}}},
        "variable of the wrong type, no token": {
            "json": {"query": INVOICE, "variables": {"id": {"x": [1]}}}
        },
        "variable of the wrong type": {
            "json": {"query": INVOICE, "variables": {"id": [1, 2]}},
            "headers": auth,
        },
        "a string where an Int goes": {
            "json": {
                "query": "query($n: Int) { customers(first: $n) { edges { cursor } } }",
                "variables": {"n": "many"},
            },
            "headers": auth,
        },
        "malformed JSON": {"content": b'{"query": ', "headers": {**auth, **JSON}},
        "invalid UTF-8": {"content": b'{"query": "\xff\xfe"}', "headers": {**auth, **JSON}},
        "wrong content type": {"content": b"{ __typename }", "headers": {"content-type": "text/x"}},
        "a body that is no object": {"content": b"null", "headers": {**auth, **JSON}},
        "JSON nested 100,000 deep": {
            "content": b'{"query": "{ __typename }", "variables": {"a": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}}",
            "headers": {**auth, **JSON},
        },
        "variables that are no object": {
            "json": {"query": "{ __typename }", "variables": "x"},
            "headers": auth,
        },
        "a subscription over HTTP": {
            "json": {"query": 'subscription { engagementEvents(id: "x") { id } }'},
            "headers": auth,
        },
        "an unknown operation name": {
            "json": {"query": "{ __typename }", "operationName": "Nope"},
            "headers": auth,
        },
    }


async def test_client_mistakes_are_4xx_or_bad_user_input_and_never_logged_as_errors(
    api: Platform,
) -> None:
    probe = HealthProbe(healthz_url(api.url))
    with captured_logs() as logs:
        async with probe.running(), httpx.AsyncClient(timeout=10) as client:
            cases = mistakes(api.token("finance"))
            answers = await asyncio.gather(
                *(client.post(api.url, **request) for request in cases.values())
            )
    probe.assert_healthy()
    for name, answer in zip(cases, answers, strict=True):
        assert answer.status_code < 500, (name, answer.text)
        if answer.status_code == 200:
            codes = {e["extensions"]["code"] for e in answer.json()["errors"]}
            assert codes <= CLIENT_CODES, (name, answer.text)
        else:
            assert 400 <= answer.status_code < 500, (name, answer.status_code)
    assert [line for line in logs.loud() if line.startswith(EDGE)] == []


async def test_a_real_bug_is_internal_and_logged_once_with_its_traceback(api: Platform) -> None:
    customers = api.app.state.clients.customer
    working = customers.BatchGetCustomers

    def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("a bug in the gateway")

    customers.BatchGetCustomers = broken
    try:
        with captured_logs() as logs:
            body = (
                await api.client.post(
                    api.url, json={"query": '{ customer(id: "x") { id } }', "variables": {}}
                )
            ).json()
    finally:
        customers.BatchGetCustomers = working
    assert body["errors"] == [
        {
            "message": "internal error",
            "locations": [{"line": 1, "column": 3}],
            "path": ["customer"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    errors = [r for r in logs.records if r.name.startswith("gateway") and r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "a bug in the gateway" not in str(body)


ATTACK = (
    "engagements(first:100){ edges { node { timeline { type } timeEntries(first:100){"
    " edges { node { engagement { timeline { type } } } } } } } }"
)


async def test_an_operation_that_may_cost_too_much_is_refused_before_any_call(
    api: Platform,
) -> None:
    await close_won(api, **opportunity("COST-1", "US01", "USD", "TIME_AND_MATERIALS"))
    calls = api.app.state.clients.counter.calls
    before = sum(calls.values())
    query = "{ " + " ".join(f"a{i}: {ATTACK}" for i in range(30)) + " }"
    probe = HealthProbe(healthz_url(api.url))
    async with probe.running():
        body = (await api.client.post(api.url, json={"query": query})).json()
    probe.assert_healthy()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert error["extensions"]["cost"] == 30 * 100 * (1 + 100 + 100 * (1 + 1 + 100))
    assert error["extensions"]["limit"] == 50_000
    assert body["data"] is None
    assert sum(calls.values()) == before  # not one gRPC call


async def test_nested_lists_of_a_page_are_batched_per_request(api: Platform) -> None:
    for n in range(3):
        await close_won(api, **opportunity(f"BATCH-{n}", "US01", "USD", "TIME_AND_MATERIALS"))
    calls = api.app.state.clients.counter.calls
    before = dict(calls)
    page = await gql(
        api,
        """{ engagements(first: 100) { edges { node {
             customer { name } invoices { id } revenue { recognized { amount } }
             setup { billing } timeline { type } } } } }""",
    )
    engagements = len(page["engagements"]["edges"])
    made = {m: n - before.get(m, 0) for m, n in calls.items() if n != before.get(m, 0)}
    per_engagement = [m for m in made if m.endswith("ListEngagementEvents")]
    assert made.pop("/weftwork.customer.v1.CustomerService/BatchGetCustomers") == 1
    assert made.pop("/weftwork.billing.v1.BillingService/BatchGetInvoicesByEngagement") == 1
    assert made.pop("/weftwork.revenue.v1.RevenueService/BatchGetPositions") == 1
    # No batch RPC for lineage: one call per producing service and engagement, at most 8 in
    # flight for the request (gateway/loaders.py).
    assert sum(made.pop(m) for m in per_engagement) == 3 * engagements
    assert set(made) == {"/weftwork.project.v1.ProjectService/ListEngagements"}


PAGE = "engagements(first: 100) { edges { node { timeline { id } invoices { id } } } }"
SPEND = "{ " + " ".join(f"a{i}: {PAGE}" for i in range(4)) + " }"


async def test_a_principal_who_spends_its_budget_gets_429_with_retry_after(
    api: Platform,
) -> None:
    spender = issue_token(SECRET, subject="spender", roles=["executive"], entities=["*"])
    other = issue_token(SECRET, subject="bystander", roles=["executive"], entities=["*"])
    probe = HealthProbe(healthz_url(api.url))
    refused = None
    async with probe.running(), httpx.AsyncClient(timeout=30) as client:
        for _ in range(400):  # 48,400 points each; 5,000,000 a minute, refilled as it goes
            answer = await client.post(
                api.url, json={"query": SPEND}, headers={"Authorization": f"Bearer {spender}"}
            )
            if answer.status_code == 429:
                refused = answer
                break
        served = await client.post(
            api.url, json={"query": SPEND}, headers={"Authorization": f"Bearer {other}"}
        )
    probe.assert_healthy()
    assert refused is not None, "the budget never ran out"
    assert int(refused.headers["Retry-After"]) >= 1
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["cost"] == 4 * 100 * (1 + 100 + 20)
    assert served.status_code == 200 and "errors" not in served.json()
