"""The whole platform for end-to-end tests: four services (five with connect) and the gateway
on real sockets."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from starlette.applications import Starlette

from gateway.app import create_app
from mesh.settings import Settings, with_database
from mesh.tokens import issue_token
from services.billing.main import SPEC as BILLING
from services.connect.main import SPEC as CONNECT
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from services.revenue.main import SPEC as REVENUE
from tests.support import as_nats_user, serving, serving_http, settings_for, with_grpc_ports

SECRET = "platform-secret-platform-secret-platform"


@dataclass
class Platform:
    url: str  # http://127.0.0.1:<port>/graphql, served by uvicorn
    app: Starlette
    client: httpx.AsyncClient  # signed in as admin
    settings: Settings  # the services' databases, for tests that must reach one directly
    # Where the console's browser tests load it: a gateway in production mode (trusted
    # documents only) beside the one tests send their own documents to; "" for that one.
    console: str = ""

    def token(self, *roles: str, entities: list[str] | None = None, subject: str = "e2e") -> str:
        return issue_token(SECRET, subject=subject, roles=list(roles), entities=entities or ["*"])

    def as_(
        self, *roles: str, entities: list[str] | None = None, subject: str = "e2e"
    ) -> dict[str, str]:
        """Headers of a caller with these roles (the subject names them in the audit trail)."""
        token = self.token(*roles, entities=entities, subject=subject)
        return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def running_platform(
    database_url: str, nats_url: str, data_dir: Path, *, connect: bool = False, **env: str
) -> AsyncIterator[Platform]:
    """connect: also the connect service (its own database and key), for its GraphQL;
    env: more settings (WEFTWORK_...) for every service."""
    extra = {"WEFTWORK_JWT_SECRET": SECRET, **env}
    if connect:
        extra |= {
            "WEFTWORK_CONNECT_DATABASE_URL": with_database(
                database_url, f"t_connect_{uuid.uuid4().hex[:10]}"
            ),
            "WEFTWORK_CONNECT_METRICS_PORT": "0",
            "WEFTWORK_CONNECT_SECRET_KEY": Fernet.generate_key().decode(),
            "WEFTWORK_CONNECT_POLL_SECONDS": "0.2",
        }
    settings, _ = settings_for(database_url, nats_url, data_dir, **extra)
    async with contextlib.AsyncExitStack() as stack:
        # In order, each on a port it binds itself: a later service (project calls customer)
        # and the gateway are told the ports of those already serving.
        for spec in (CUSTOMER, PROJECT, BILLING, REVENUE, *([CONNECT] if connect else [])):
            port, _ = await stack.enter_async_context(serving(spec, settings))
            settings = with_grpc_ports(settings, **{spec.name: port})
        app = create_app(as_nats_user(settings, "gateway"))
        port = await stack.enter_async_context(serving_http(app))
        url = f"http://127.0.0.1:{port}/graphql"
        platform = Platform(
            url=url, app=app, client=httpx.AsyncClient(timeout=30), settings=settings
        )
        platform.client.headers["Authorization"] = f"Bearer {platform.token('admin')}"
        try:
            yield platform
        finally:
            await platform.client.aclose()


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
