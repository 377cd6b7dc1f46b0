"""The gateway app in-process (httpx over ASGI) in front of a real customer service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from gateway.app import create_app
from mesh.tokens import issue_token
from services.customer.main import SPEC as CUSTOMER
from tests.support import as_nats_user, serving, settings_for, with_grpc_ports

SECRET = "test-secret-that-is-long-enough-for-hs256"


def bearer(*roles: str, entities: list[str] | None = None) -> dict[str, str]:
    """An Authorization header for a token with these roles (every entity unless given)."""
    signed = issue_token(SECRET, subject="tester", roles=list(roles), entities=entities or ["*"])
    return {"Authorization": f"Bearer {signed}"}


@contextlib.asynccontextmanager
async def gateway_client(
    database_url: str, nats_url: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings, _ = settings_for(database_url, nats_url, data_dir, WEFTWORK_JWT_SECRET=SECRET)
    async with serving(CUSTOMER, settings) as (port, _):
        app = create_app(as_nats_user(with_grpc_ports(settings, customer=port), "gateway"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client
        await app.state.clients.close()
