"""The gateway front door: tokens, roles, limits and masked errors (customer service behind)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from strawberry.extensions.validation_cache import _get_validate_cache

from gateway.schema import VALIDATION_CACHE_SIZE
from tests.integration.gateway_app import SECRET, bearer


async def gql(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


CUSTOMERS = "{ customers(first: 5) { edges { node { id name } } pageInfo { hasNextPage } } }"


async def test_every_operation_needs_a_valid_token(gateway: httpx.AsyncClient) -> None:
    assert codes(await gql(gateway, CUSTOMERS)) == ["UNAUTHENTICATED"]
    assert codes(await gql(gateway, CUSTOMERS, {"Authorization": "Bearer nonsense"})) == [
        "UNAUTHENTICATED"
    ]
    forged = jwt.encode(
        {"sub": "x", "roles": ["admin"], "entities": ["*"], "exp": int(time.time()) + 60},
        "another-secret-another-secret-another",
        algorithm="HS256",
    )
    assert codes(await gql(gateway, CUSTOMERS, {"Authorization": f"Bearer {forged}"})) == [
        "UNAUTHENTICATED"
    ]
    now = int(time.time())
    expired = jwt.encode(
        {
            **{"iss": "weftwork", "aud": "weftwork-gateway", "sub": "x"},
            **{"roles": ["admin"], "entities": ["*"], "iat": now - 3600, "exp": now - 60},
        },
        SECRET,
        algorithm="HS256",
    )
    body = await gql(gateway, CUSTOMERS, {"Authorization": f"Bearer {expired}"})
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "expired" in body["errors"][0]["message"]
    ok = await gql(gateway, CUSTOMERS, bearer("sales"))
    assert "errors" not in ok
    assert ok["data"]["customers"]["pageInfo"] == {"hasNextPage": False}


MERGE = "mutation($a: ID!, $b: ID!) { mergeCustomers(survivorId: $a, mergedId: $b) { id } }"


@pytest.mark.parametrize("role", ["sales", "delivery", "executive"])
async def test_only_finance_and_admin_may_merge_customers(
    gateway: httpx.AsyncClient, role: str
) -> None:
    body = await gql(gateway, MERGE, bearer(role), a="00000000-0000-4000-8000-000000000001", b="x")
    assert codes(body) == ["FORBIDDEN"]


async def test_service_errors_keep_their_meaning(gateway: httpx.AsyncClient) -> None:
    bad = await gql(gateway, MERGE, bearer("finance"), a="not-a-uuid", b="also-not")
    assert codes(bad) == ["BAD_USER_INPUT"]
    assert {v["field"] for v in bad["errors"][0]["extensions"]["fieldViolations"]} >= {
        "survivor_id"
    }
    missing = await gql(
        gateway,
        MERGE,
        bearer("admin"),
        a="00000000-0000-4000-8000-000000000001",
        b="00000000-0000-4000-8000-000000000002",
    )
    assert codes(missing) == ["NOT_FOUND"]


async def test_abuse_is_refused_with_a_code(gateway: httpx.AsyncClient) -> None:
    admin = bearer("admin")
    twenty_deep = "query { customers { " + "edges { node { " * 10 + "id" + " } }" * 10 + " } }"
    assert set(codes(await gql(gateway, twenty_deep, admin))) == {"GRAPHQL_VALIDATION_FAILED"}
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"
    assert set(codes(await gql(gateway, aliases, admin))) == {"GRAPHQL_VALIDATION_FAILED"}
    too_many = await gql(gateway, "{ customers(first: 10000) { edges { cursor } } }", admin)
    assert codes(too_many) == ["BAD_USER_INPUT"]
    big = await gateway.post(
        "/graphql",
        content=b"x" * 5_000_000,
        headers={**admin, "content-type": "application/json"},
    )
    assert big.status_code == 413
    assert big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    over_get = await gateway.get(
        "/graphql", params={"query": MERGE, "variables": '{"a": "1", "b": "2"}'}, headers=admin
    )
    assert over_get.status_code == 400
    assert "not allowed" in over_get.text.lower()
    introspection = await gql(gateway, "{ __schema { types { name } } }", admin)
    assert introspection.get("data") is None
    assert set(codes(introspection)) == {"GRAPHQL_VALIDATION_FAILED"}


async def test_a_repeated_document_is_validated_once_and_limits_still_hold(
    gateway: httpx.AsyncClient,
) -> None:
    """Validation (limits included) is cached per document; a cached refusal stays a refusal."""
    cache: Any = _get_validate_cache(VALIDATION_CACHE_SIZE)  # an lru_cache wrapper
    admin = bearer("admin")
    query = "{ customers(first: 3) { edges { cursor } } __typename }"
    await gql(gateway, query, admin)
    hits = cache.cache_info().hits
    for _ in range(3):
        assert "errors" not in await gql(gateway, query, admin)
    assert cache.cache_info().hits == hits + 3
    deep = "query { customers { " + "edges { node { " * 7 + "id" + " } }" * 7 + " } }"
    for _ in range(2):
        assert set(codes(await gql(gateway, deep, admin))) == {"GRAPHQL_VALIDATION_FAILED"}


async def test_no_stack_trace_reaches_a_client(gateway: httpx.AsyncClient) -> None:
    body = await gql(gateway, '{ customer(id: "not-a-uuid") { id } }', bearer("admin"))
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "Traceback" not in str(body)
