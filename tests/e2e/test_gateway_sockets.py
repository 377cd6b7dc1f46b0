"""#14 observation 3, sockets: connection_init authenticates, sockets per principal and
subscriptions per socket are bounded, a message over the body cap closes the socket, and a
socket is closed when the token it was opened with expires."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from mesh.tokens import issue_token
from tests.e2e.hostile import HealthProbe, captured_logs, healthz_url
from tests.e2e.platform import SECRET, Platform
from tests.e2e.test_gateway_flows import close_won, opportunity

PROTOCOL = "graphql-transport-ws"


def token(subject: str, ttl_seconds: int = 3600) -> str:
    signed = issue_token(
        SECRET, subject=subject, roles=["executive"], entities=["*"], ttl_seconds=ttl_seconds
    )
    return f"Bearer {signed}"


@contextlib.asynccontextmanager
async def socket(api: Platform) -> AsyncIterator[ClientConnection]:
    url = api.url.replace("http://", "ws://")
    async with websockets.connect(url, subprotocols=[PROTOCOL], max_size=None) as ws:  # type: ignore[list-item]
        yield ws


async def init(ws: ClientConnection, payload: dict[str, Any]) -> None:
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))


async def acknowledged(ws: ClientConnection) -> bool:
    try:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    except websockets.ConnectionClosed:
        return False
    return bool(message["type"] == "connection_ack")


async def close_code(ws: ClientConnection, within: float = 15) -> int | None:
    """Read until the server closes the socket; its close code."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    return ws.close_code


@pytest.mark.parametrize(
    "payload", [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": 7}]
)
async def test_connection_init_without_a_valid_token_is_refused(
    api: Platform, payload: dict[str, Any]
) -> None:
    async with socket(api) as ws:
        await init(ws, payload)
        assert await close_code(ws) == 4403


async def test_sockets_per_principal_are_bounded_and_freed_on_close(api: Platform) -> None:
    limit = api.app.state.settings.gateway_max_connections_per_principal
    async with contextlib.AsyncExitStack() as open_sockets:
        held = [await open_sockets.enter_async_context(socket(api)) for _ in range(limit)]
        for ws in held:
            await init(ws, {"Authorization": token("busy")})
            assert await acknowledged(ws)
        async with socket(api) as extra:
            await init(extra, {"Authorization": token("busy")})
            assert await close_code(extra) == 4403
        async with socket(api) as other:  # another principal is not affected
            await init(other, {"Authorization": token("calm")})
            assert await acknowledged(other)
        await held[0].close()
        for _ in range(100):  # its slot is freed once the gateway has seen it close
            async with socket(api) as again:
                await init(again, {"Authorization": token("busy")})
                if await acknowledged(again):
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("a closed socket's slot was never freed")


async def test_subscriptions_per_socket_are_bounded(api: Platform) -> None:
    engagement = await close_won(api, **opportunity("WS-1", "US01", "USD", "TIME_AND_MATERIALS"))
    limit = api.app.state.settings.gateway_max_subscriptions_per_connection
    query = "subscription($id: ID!) { engagementEvents(id: $id) { id } }"
    async with socket(api) as ws:
        await init(ws, {"Authorization": token("subscriber")})
        assert await acknowledged(ws)
        for n in range(limit + 1):
            await ws.send(
                json.dumps(
                    {
                        "id": str(n),
                        "type": "subscribe",
                        "payload": {"query": query, "variables": {"id": engagement["id"]}},
                    }
                )
            )
        refusal = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert refusal["id"] == str(limit) and refusal["type"] == "error"
    assert "limit" in refusal["payload"][0]["message"].lower()


async def test_a_socket_is_closed_when_its_token_expires(api: Platform) -> None:
    async with socket(api) as ws:
        await init(ws, {"Authorization": token("brief", ttl_seconds=2)})
        assert await acknowledged(ws)
        assert await close_code(ws, within=15) == 4401


async def test_a_message_over_the_body_cap_closes_the_socket(api: Platform) -> None:
    probe = HealthProbe(healthz_url(api.url))
    async with probe.running(), socket(api) as ws:
        await init(ws, {"Authorization": token("big")})
        assert await acknowledged(ws)
        await ws.send(json.dumps({"type": "ping", "payload": {"x": "x" * 2_000_000}}))
        assert await close_code(ws) == 1009
    probe.assert_healthy()


async def test_an_unreadable_message_closes_the_socket_as_the_clients_mistake(
    api: Platform,
) -> None:
    with captured_logs() as logs:
        async with socket(api) as ws:
            await init(ws, {"Authorization": token("nested")})
            assert await acknowledged(ws)
            await ws.send('{"type": "ping", "payload": ' + "[" * 200_000 + "]" * 200_000 + "}")
            assert await close_code(ws) == 4400
    assert [
        line for line in logs.loud() if line.startswith(("gateway", "strawberry", "uvicorn"))
    ] == []
