"""The whole platform for end-to-end tests: four services and the gateway on real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from gateway.app import create_app
from mesh.settings import Settings
from mesh.tokens import issue_token
from services.billing.main import SPEC as BILLING
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from services.revenue.main import SPEC as REVENUE
from tests.conftest import free_port
from tests.support import eventually, serving, settings_for

SECRET = "platform-secret-platform-secret-platform"


@dataclass
class Platform:
    url: str  # http://127.0.0.1:<port>/graphql, served by uvicorn
    app: Starlette
    client: httpx.AsyncClient  # signed in as admin
    settings: Settings  # the services' databases, for tests that must reach one directly

    def token(self, *roles: str, entities: list[str] | None = None) -> str:
        return issue_token(SECRET, subject="e2e", roles=list(roles), entities=entities or ["*"])

    def as_(self, *roles: str, entities: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, entities=entities)}"}


@contextlib.asynccontextmanager
async def running_platform(
    database_url: str, nats_url: str, data_dir: Path
) -> AsyncIterator[Platform]:
    ports = {name: free_port() for name in ("customer", "project", "billing", "revenue", "gateway")}
    settings, _ = settings_for(
        database_url,
        nats_url,
        data_dir,
        WEFTWORK_JWT_SECRET=SECRET,
        **{f"WEFTWORK_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    )
    async with contextlib.AsyncExitStack() as stack:
        for spec in (CUSTOMER, PROJECT, BILLING, REVENUE):
            await stack.enter_async_context(serving(spec, settings, port=ports[spec.name]))
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=ports["gateway"], log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        await eventually(lambda: asyncio.sleep(0, result=server.started), what="gateway started")
        url = f"http://127.0.0.1:{ports['gateway']}/graphql"
        platform = Platform(
            url=url, app=app, client=httpx.AsyncClient(timeout=30), settings=settings
        )
        platform.client.headers["Authorization"] = f"Bearer {platform.token('admin')}"
        try:
            yield platform
        finally:
            await platform.client.aclose()
            server.should_exit = True
            await task


async def post(
    platform: Platform, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    response = await platform.client.post(
        platform.url, json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


async def gql(platform: Platform, query: str, **variables: Any) -> dict[str, Any]:
    """Data of a query that must succeed."""
    body = await post(platform, query, **variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data
