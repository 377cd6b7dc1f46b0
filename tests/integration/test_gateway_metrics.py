"""The gateway's /metrics: GraphQL operation latency by type and result, errors by code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from mesh.tokens import issue_token
from services.customer.main import SPEC as CUSTOMER
from tests.conftest import Stack, free_port
from tests.support import serving, settings_for

SECRET = "test-secret-that-is-long-enough-for-hs256"
CUSTOMERS = "query Customers { customers(first: 5) { edges { node { id name } } } }"


@pytest.fixture(scope="module")
async def gateway(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    settings, _ = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("gwm"),
        WEFTWORK_CUSTOMER_PORT=str(port),
        WEFTWORK_JWT_SECRET=SECRET,
    )
    async with serving(CUSTOMER, settings, port=port):
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client
        await app.state.clients.close()


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[Any]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset[Any]]:
    return name, frozenset(labels.items())


async def test_operations_are_timed_by_type_and_result_and_errors_counted_by_code(
    gateway: httpx.AsyncClient,
) -> None:
    admin = issue_token(SECRET, subject="ops", roles=["admin"], entities=["*"])
    before = await scrape(gateway)

    ok = await gateway.post(
        "/graphql", json={"query": CUSTOMERS}, headers={"Authorization": f"Bearer {admin}"}
    )
    assert "errors" not in ok.json()
    anonymous = await gateway.post("/graphql", json={"query": CUSTOMERS})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    invalid = await gateway.post(
        "/graphql",
        json={"query": "{ noSuchField }"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    after = await scrape(gateway)

    def moved(name: str, **labels: str) -> float:
        return after.get(key(name, **labels), 0.0) - before.get(key(name, **labels), 0.0)

    seconds = "weftwork_graphql_operation_seconds_count"
    assert moved(seconds, operation_type="query", result="success") == 1
    assert moved(seconds, operation_type="query", result="error") == 2
    errors = "weftwork_graphql_errors_total"
    assert moved(errors, operation_type="query", code="UNAUTHENTICATED") == 1
    assert moved(errors, operation_type="query", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert after[key("process_cpu_seconds_total")] > 0
