"""The gateway's /metrics: GraphQL operation latency by type and result, errors by code."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.gateway_app import bearer

CUSTOMERS = "query Customers { customers(first: 5) { edges { node { id name } } } }"


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
    admin = bearer("admin")
    before = await scrape(gateway)

    ok = await gateway.post("/graphql", json={"query": CUSTOMERS}, headers=admin)
    assert "errors" not in ok.json()
    anonymous = await gateway.post("/graphql", json={"query": CUSTOMERS})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    invalid = await gateway.post(
        "/graphql",
        json={"query": "{ noSuchField }"},
        headers=admin,
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
