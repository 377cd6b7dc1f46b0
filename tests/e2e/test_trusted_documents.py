"""Trusted documents over real HTTP and WebSocket (gateway/trusted.py, docs/security.md): in
production only registered hashes run; in development Apollo's APQ registers documents.

The gateway here has no services behind it: `viewer` answers from the token alone, and every
refusal happens before anything would be called."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from gateway.app import create_app
from gateway.trusted import load_manifest, sha256
from mesh.tokens import issue_token
from tests.support import serving_http, settings_for

SECRET = "trusted-secret-trusted-secret-trusted-secret"
VIEWER = next(d for d in load_manifest().values() if d.startswith("query Viewer"))
PORTAL = "query PortalViewer { viewer { subject roles } }"
AD_HOC = "{ viewer { subject } }"
Gateway = Callable[..., AbstractAsyncContextManager[str]]


def persisted(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(document)}}


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    @asynccontextmanager
    async def running(**env: str) -> AsyncIterator[str]:
        settings, _ = settings_for(
            "postgresql://unused@127.0.0.1:1/postgres",
            "nats://127.0.0.1:1",
            tmp_path,
            WEFTWORK_JWT_SECRET=SECRET,
            **env,
        )
        async with serving_http(create_app(settings)) as port:
            yield f"http://127.0.0.1:{port}/graphql"

    return running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    token = issue_token(SECRET, subject="portal", roles=["sales"], entities=["US01"])
    async with httpx.AsyncClient(
        timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


async def test_production_runs_registered_hashes_and_nothing_else(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    operator = json.dumps({sha256(PORTAL): PORTAL})
    async with gateway(
        WEFTWORK_GATEWAY_ANY_DOCUMENT="false", WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS=operator
    ) as url:
        refused = (await client.post(url, json={"query": AD_HOC})).json()
        assert refused == {
            "data": None,
            "errors": [
                {
                    "message": refused["errors"][0]["message"],
                    "extensions": {"code": "DOCUMENT_NOT_TRUSTED"},
                }
            ],
        }
        # Sending it with its hash registers nothing in production.
        apq = {"query": AD_HOC, "extensions": persisted(AD_HOC)}
        assert (await client.post(url, json=apq)).json()["errors"][0]["extensions"] == {
            "code": "DOCUMENT_NOT_TRUSTED"
        }
        # The console's manifest, by hash alone, over POST and over GET.
        body = {"operationName": "Viewer", "extensions": persisted(VIEWER)}
        ran = (await client.post(url, json=body)).json()
        assert ran["data"]["viewer"]["subject"] == "portal", ran
        params = {"operationName": "Viewer", "extensions": json.dumps(persisted(VIEWER))}
        got = await client.get(url, params=params)
        assert got.json()["data"]["viewer"]["roles"] == ["sales"], got.text
        # An operator's document, by hash or by its very text.
        by_hash = (await client.post(url, json={"extensions": persisted(PORTAL)})).json()
        assert by_hash["data"]["viewer"]["subject"] == "portal", by_hash
        by_text = (await client.post(url, json={"query": PORTAL})).json()
        assert by_text["data"]["viewer"]["subject"] == "portal", by_text
        # Without a token: one UNAUTHENTICATED, as for any operation (no oracle of hashes).
        anonymous = await client.post(url, json={"query": AD_HOC}, headers={"Authorization": ""})
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        metrics = (await client.get(url.removesuffix("/graphql") + "/metrics")).text
        labels = 'code="DOCUMENT_NOT_TRUSTED",operation_type="unknown"'
        assert f"weftwork_graphql_errors_total{{{labels}}} 2.0" in metrics


async def test_an_unknown_hash_is_persisted_query_not_found_and_never_cached(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    async with gateway(WEFTWORK_GATEWAY_ANY_DOCUMENT="false") as url:
        params = {"extensions": json.dumps(persisted(AD_HOC))}
        for accept in ("application/json", "application/graphql-response+json"):
            answer = await client.get(url, params=params, headers={"Accept": accept})
            assert answer.status_code == 200, (accept, answer.text)
            assert answer.headers["cache-control"] == "private, no-cache, must-revalidate"
            assert answer.json()["errors"] == [
                {
                    "message": "PersistedQueryNotFound",
                    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
                }
            ]


async def test_development_registers_a_document_then_runs_its_hash(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    async with gateway(WEFTWORK_DEV_MODE="true", WEFTWORK_GATEWAY_ANY_DOCUMENT="") as url:
        assert (await client.post(url, json={"query": AD_HOC})).json()["data"]["viewer"]
        by_hash = {"extensions": json.dumps(persisted(AD_HOC))}
        missing = (await client.get(url, params=by_hash)).json()
        assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        apq = {"query": AD_HOC, "extensions": persisted(AD_HOC)}
        assert (await client.post(url, json=apq)).json()["data"]["viewer"]["subject"] == "portal"
        again = (await client.get(url, params=by_hash)).json()
        assert again == {"data": {"viewer": {"subject": "portal"}}}
        wrong = {"query": PORTAL, "extensions": persisted(AD_HOC)}
        mismatch = (await client.post(url, json=wrong)).json()
        assert mismatch["errors"][0]["message"] == "provided sha does not match query"


async def test_a_subscription_over_a_socket_follows_the_same_rule(gateway: Gateway) -> None:
    token = issue_token(SECRET, subject="portal", roles=["executive"], entities=["*"])
    untrusted = 'subscription { engagementEvents(id: "x") { id } }'
    async with gateway(WEFTWORK_GATEWAY_ANY_DOCUMENT="false") as url:
        ws_url = url.replace("http://", "ws://")
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            await ws.send(json.dumps(init))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            for n, payload in enumerate(
                ({"query": untrusted}, {"extensions": persisted(untrusted)}), start=1
            ):
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
                answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert answer["id"] == str(n) and answer["type"] == "error", answer
                codes = {"1": "DOCUMENT_NOT_TRUSTED", "2": "PERSISTED_QUERY_NOT_FOUND"}
                assert answer["payload"][0]["extensions"]["code"] == codes[str(n)]
