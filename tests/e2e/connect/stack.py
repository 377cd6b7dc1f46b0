"""Customer, project and connect with the real gateway on sockets bound to port 0, for the
connect tests. Connect runs in this event loop, or as a child process (`weftwork serve
connect`) that a test may SIGKILL and start again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.fernet import Fernet

from gateway.app import create_app
from mesh.service import ServiceSpec
from mesh.settings import Settings, load_settings, with_database
from mesh.tokens import issue_token
from services.connect.main import SPEC as CONNECT
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from tests.e2e.processes import ServiceProcess
from tests.support import eventually, serving, settings_for

SECRET = "connect-e2e-secret-connect-e2e-secret-connect"


@dataclass
class ConnectStack:
    base: str  # http://127.0.0.1:<port>, the gateway
    client: httpx.AsyncClient  # signed in as admin
    env: dict[str, str]  # what a `weftwork serve connect` child needs (its port added)
    connect_settings: Settings
    children: list[ServiceProcess] = field(default_factory=list)

    @property
    def graphql(self) -> str:
        return f"{self.base}/graphql"

    def token(self, *roles: str) -> str:
        return issue_token(SECRET, subject="connect-e2e", roles=list(roles), entities=["*"])

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.post(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def post(
        self, query: str, headers: dict[str, str] | None = None, **variables: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            self.graphql, json={"query": query, "variables": variables}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    async def hook(self, source: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(f"{self.base}/hooks/{source}", content=body, headers=headers)


def _port(env: dict[str, str], name: str, port: int) -> dict[str, str]:
    return {**env, f"WEFTWORK_{name.upper()}_PORT": str(port)}


async def _gateway(settings: Settings) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, result=server.started), what="gateway started")
    port = int(server.servers[0].sockets[0].getsockname()[1])
    return server, task, port


async def connect_child_port(child: ServiceProcess) -> int:
    """The port a `serve connect` child bound (WEFTWORK_CONNECT_PORT=0), from its log."""

    async def bound() -> int:
        for line in child.log.read_text().splitlines() if child.log.exists() else []:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("message") == "grpc serving" and record.get("port"):
                    return int(record["port"])
        return 0

    return await eventually(bound, within=60, what="connect child serving")


@contextlib.asynccontextmanager
async def running_connect_stack(
    database_url: str,
    nats_url: str,
    data_dir: Path,
    *,
    connect_as_child: bool = False,
    child_env: dict[str, str] | None = None,
) -> AsyncIterator[ConnectStack]:
    """child_env: extra settings for the first connect child only (e.g. another project target)."""
    _, env = settings_for(database_url, nats_url, data_dir, WEFTWORK_JWT_SECRET=SECRET)
    env.update(
        WEFTWORK_CONNECT_DATABASE_URL=with_database(
            database_url, f"t_connect_{uuid.uuid4().hex[:10]}"
        ),
        WEFTWORK_CONNECT_METRICS_PORT="0",
        WEFTWORK_CONNECT_SECRET_KEY=Fernet.generate_key().decode(),
        WEFTWORK_CONNECT_POLL_SECONDS="0.2",
    )
    async with contextlib.AsyncExitStack() as stack:
        ports: dict[str, int] = {}
        specs: list[ServiceSpec] = [CUSTOMER, PROJECT] + ([] if connect_as_child else [CONNECT])
        for spec in specs:
            for name, port in ports.items():
                env = _port(env, name, port)
            ports[spec.name], _ = await stack.enter_async_context(
                serving(spec, load_settings(env), port=0)
            )
        for name, port in ports.items():
            env = _port(env, name, port)
        children: list[ServiceProcess] = []
        if connect_as_child:
            first_env = {**_port(env, "connect", 0), **(child_env or {})}
            child = ServiceProcess("connect", first_env, data_dir / "connect.log")
            stack.callback(child.ensure_stopped)
            child.start()
            env = _port(env, "connect", await connect_child_port(child))
            children.append(child)
        settings = load_settings(env)
        server, task, gateway_port = await _gateway(settings)
        client = httpx.AsyncClient(timeout=30)
        result = ConnectStack(f"http://127.0.0.1:{gateway_port}", client, env, settings, children)
        client.headers["Authorization"] = f"Bearer {result.token('admin')}"
        try:
            yield result
        finally:
            await client.aclose()
            server.should_exit = True
            await task
