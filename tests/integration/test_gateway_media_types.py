"""GraphQL over HTTP's response types over real HTTP: a client that asks for
application/graphql-response+json gets 4xx without `data` for a request that never ran, and
200 for one that did; a client that asks for JSON keeps the legacy 200."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.media import GRAPHQL_RESPONSE
from mesh.tokens import issue_token
from tests.support import serving_http, settings_for

SECRET = "media-secret-media-secret-media-secret"


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings, _ = settings_for(
        "postgresql://unused@127.0.0.1:1/postgres",
        "nats://127.0.0.1:1",
        tmp_path,
        WEFTWORK_JWT_SECRET=SECRET,
    )
    async with (
        serving_http(create_app(settings)) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        yield client


def _token() -> dict[str, str]:
    token = issue_token(SECRET, subject="media", roles=["admin"], entities=["*"])
    return {"authorization": f"Bearer {token}"}


async def test_a_document_that_does_not_parse_is_400_without_data(
    gateway: httpx.AsyncClient,
) -> None:
    answer = await gateway.post(
        "/graphql", json={"query": "{ engagement("}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = answer.json()
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Syntax Error")


async def test_the_legacy_type_keeps_200_and_a_null_data(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.post(
        "/graphql", json={"query": "{ engagement("}, headers={"accept": "application/json"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["data"] is None


async def test_a_caller_without_a_token_is_401(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.post(
        "/graphql",
        json={"query": "{ viewer { subject } }"},
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_operation_that_ran_is_200_with_data(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"accept": GRAPHQL_RESPONSE, **_token()},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert answer.json() == {"data": {"__typename": "Query"}}
