"""The demo's outbound door: a small webhook receiver that `weftwork up --dev` runs on
127.0.0.1, and one endpoint pointing at it, so a new user sees a signed webhook arrive.

The receiver verifies every request with the `standardwebhooks` library (the secret comes
from creating the endpoint, or from rotating it when the endpoint already exists: a secret is
shown only once) and prints one line per webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable

import httpx
import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/demo-webhooks"
PORT = 8010  # on the stack's host; a taken port only skips the demo receiver
EVENT_TYPES = ["weftwork.project.engagement.*", "weftwork.billing.*"]
ENDPOINTS = "{ webhookEndpoints { id url } }"
CREATE = """mutation($i: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $i) { secret endpoint { id } }
}"""
ROTATE = """mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }"""


class DemoReceiver:
    """Answers 200 to every webhook and says what arrived and whether it verified."""

    def __init__(self, say: Callable[[str], None] = print) -> None:
        self.secret: str | None = None
        self.say = say
        self.app = Starlette(routes=[Route(PATH, self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = "not checked"
        if self.secret:
            try:
                Webhook(self.secret).verify(body, headers, json_parse=False)
                verified = "signature verified"
            except WebhookVerificationError as exc:
                verified = f"signature NOT verified ({exc})"
        try:
            kind = json.loads(body).get("type", "?")
        except ValueError:
            kind = "?"
        self.say(f"demo receiver: webhook {headers.get('webhook-id', '?')} {kind} ({verified})")
        return Response(status_code=200)


async def run(receiver: DemoReceiver, host: str, port: int, stop: asyncio.Event) -> None:
    """Serves the receiver on host:port until stop (says so and returns if the port is taken)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        receiver.say(f"demo receiver: not started, {host}:{port} is taken ({exc})")
        return
    server = uvicorn.Server(uvicorn.Config(receiver.app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()


def url_of(graphql_url: str, port: int = PORT) -> str:
    """The receiver's URL on the gateway's host (the stack's host)."""
    host = httpx.URL(graphql_url).host
    return f"http://{host}:{port}{PATH}"


async def seed(url: str, token: str, receiver: DemoReceiver, receiver_url: str) -> list[str]:
    """Creates the demo endpoint (or rotates its secret) and hands the secret to the receiver."""
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:

        async def gql(query: str, **variables: object) -> dict[str, object]:
            body = (await c.post(url, json={"query": query, "variables": variables})).json()
            if body.get("errors"):
                raise RuntimeError(body["errors"][0].get("message"))
            data: dict[str, object] = body["data"]
            return data

        try:
            listed = await gql(ENDPOINTS)
        except (RuntimeError, httpx.HTTPError) as exc:
            return [f"outbound demo: skipped ({exc})"]
        found = [e for e in listed["webhookEndpoints"] if e["url"] == receiver_url]  # type: ignore[attr-defined]
        if found:
            rotated = await gql(ROTATE, id=found[0]["id"])
            receiver.secret = str(rotated["rotateWebhookSecret"]["secret"])  # type: ignore[index]
            return [f"outbound demo: endpoint {receiver_url} exists (secret rotated)"]
        spec = {"url": receiver_url, "eventTypes": EVENT_TYPES, "description": "the demo receiver"}
        created = await gql(CREATE, i=spec)
        receiver.secret = str(created["createWebhookEndpoint"]["secret"])  # type: ignore[index]
    return [
        f"outbound demo: endpoint {receiver_url} for {', '.join(EVENT_TYPES)}; every webhook it"
        " gets is printed here (see `webhookDeliveries` in GraphQL)"
    ]
