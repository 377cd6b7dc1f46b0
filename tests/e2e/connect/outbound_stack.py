"""Connect and the gateway for the outbound tests: events published on the PROJECT, BILLING,
REVENUE and CUSTOMER streams exactly as their producers' relays publish them, GraphQL over
real HTTP, and connect in this event loop or as a child process (`weftwork serve connect`)
a test may SIGKILL. Customer and project join when a test needs the inbound path too."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import uvicorn
from cryptography.fernet import Fernet
from google.protobuf.message import Message
from nats.js import JetStreamContext

from gateway.app import create_app
from mesh.events.streams import ensure_stream
from mesh.service import ServiceSpec
from mesh.settings import load_settings, with_database
from mesh.tokens import issue_token
from services.connect.main import SPEC as CONNECT
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from tests.e2e.connect.stack import connect_child_port
from tests.e2e.processes import ServiceProcess
from tests.support import eventually, publish_event, serving, settings_for

SECRET = "connect-outbound-secret-connect-outbound-secret"
# A short retry window so FAILED comes within a test; production's is 30 hours.
SHORT_SCHEDULE = {
    "WEFTWORK_CONNECT_OUTBOUND_ALLOW_INSECURE": "true",
    "WEFTWORK_CONNECT_DELIVERY_RETRY_WINDOW_SECONDS": "6",
    "WEFTWORK_CONNECT_DELIVERY_BACKOFF_BASE_SECONDS": "0.05",
    "WEFTWORK_CONNECT_DELIVERY_BACKOFF_CAP_SECONDS": "0.3",
    "WEFTWORK_CONNECT_DELIVERY_TIMEOUT_SECONDS": "2",
    "WEFTWORK_CONNECT_DELIVERY_POLL_SECONDS": "0.1",
    "WEFTWORK_CONNECT_POLL_SECONDS": "0.1",
}

CREATE_ENDPOINT = """mutation($i: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $i) { secret endpoint { id url eventTypes enabled } }
}"""
DELIVERIES = """query($e: ID!, $s: DeliveryStatus) {
  webhookDeliveries(endpointId: $e, first: 100, status: $s) {
    edges { node { id eventId eventType status attempts lastStatusCode lastError payload
                   engagementId } }
  }
}"""
REPLAY = """mutation($e: ID!, $since: DateTime!) {
  replayWebhookDeliveries(endpointId: $e, since: $since)
}"""
ENDPOINTS = """{ webhookEndpoints { id url enabled disabledReason failingSince } }"""
SET_WRITEBACK = """mutation($i: CrmWriteBackInput!) {
  setCrmWriteBack(input: $i) { id source kind baseUrl fields enabled hasToken }
}"""


@dataclass
class OutboundStack:
    base: str  # the gateway
    client: httpx.AsyncClient  # admin
    js: JetStreamContext
    env: dict[str, str]
    children: list[ServiceProcess] = field(default_factory=list)

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.post(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def post(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            f"{self.base}/graphql", json={"query": query, "variables": variables}
        )
        body: dict[str, Any] = response.json()
        return body

    async def publish(self, service: str, event: tuple[str, Message], aggregate_id: str) -> str:
        subject, message = event
        version = int(getattr(message, "version", 1) or 1)
        event_id = await publish_event(
            self.js,
            service=service,
            subject=subject,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            message=message,
            event_id=uuid.uuid4(),
        )
        return str(event_id)

    async def endpoint(self, url: str, *types: str, **extra: Any) -> tuple[str, str]:
        spec = {"url": url, "eventTypes": list(types), **extra}
        created = (await self.gql(CREATE_ENDPOINT, i=spec))["createWebhookEndpoint"]
        return created["endpoint"]["id"], created["secret"]

    async def deliveries(self, endpoint_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """The endpoint's deliveries; none while the gateway's channel to a restarted connect
        reconnects (UNAVAILABLE)."""
        body = await self.post(DELIVERIES, e=endpoint_id, s=status)
        if body.get("errors"):
            assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE", body["errors"]
            return []
        return [edge["node"] for edge in body["data"]["webhookDeliveries"]["edges"]]

    async def settled(
        self, endpoint_id: str, count: int, within: float = 30
    ) -> list[dict[str, Any]]:
        return await eventually(
            lambda: self.deliveries(endpoint_id),
            until=lambda ds: len(ds) == count and all(d["status"] != "PENDING" for d in ds),
            within=within,
            what=f"{count} deliveries of {endpoint_id} settled",
        )


@contextlib.asynccontextmanager
async def running_outbound_stack(
    database_url: str,
    nats_url: str,
    data_dir: Path,
    *,
    connect_as_child: bool = False,
    with_intake: bool = False,
    **extra_env: str,
) -> AsyncIterator[OutboundStack]:
    _, env = settings_for(
        database_url,
        nats_url,
        data_dir,
        WEFTWORK_JWT_SECRET=SECRET,
        **{**SHORT_SCHEDULE, **extra_env},
    )
    env.update(
        WEFTWORK_CONNECT_DATABASE_URL=with_database(
            database_url, f"t_cout_{uuid.uuid4().hex[:10]}"
        ),
        WEFTWORK_CONNECT_METRICS_PORT="0",
        WEFTWORK_CONNECT_SECRET_KEY=Fernet.generate_key().decode(),
    )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for stream in ("project", "billing", "revenue", "customer"):
        await ensure_stream(js, stream)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(nc.close)
        specs: list[ServiceSpec] = [CUSTOMER, PROJECT] if with_intake else []
        if not connect_as_child:
            specs.append(CONNECT)
        for spec in specs:
            port, _ = await stack.enter_async_context(serving(spec, load_settings(env), port=0))
            env[f"WEFTWORK_{spec.name.upper()}_PORT"] = str(port)
        children: list[ServiceProcess] = []
        if connect_as_child:
            child = ServiceProcess(
                "connect", {**env, "WEFTWORK_CONNECT_PORT": "0"}, data_dir / "connect.log"
            )
            stack.callback(child.ensure_stopped)
            child.start()
            env["WEFTWORK_CONNECT_PORT"] = str(await connect_child_port(child))
            children.append(child)
        server = uvicorn.Server(
            uvicorn.Config(create_app(load_settings(env)), host="127.0.0.1", port=0,
                           log_level="warning")
        )  # fmt: skip
        task = asyncio.create_task(server.serve())
        await eventually(lambda: asyncio.sleep(0, result=server.started), what="gateway started")
        port = int(server.servers[0].sockets[0].getsockname()[1])
        client = httpx.AsyncClient(timeout=30)
        token = issue_token(SECRET, subject="outbound-e2e", roles=["admin"], entities=["*"])
        client.headers["Authorization"] = f"Bearer {token}"
        try:
            yield OutboundStack(f"http://127.0.0.1:{port}", client, js, env, children)
        finally:
            await client.aclose()
            server.should_exit = True
            await task
            for child in children:  # restarted ones too (a test appends them)
                child.ensure_stopped()
