"""Fixtures for the event kit (a fresh database, a NATS connection, a private stream namespace)
and the in-process gateway over a real customer service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import httpx
import pytest
from nats.js.errors import NotFoundError

from mesh.db import create_pool
from mesh.events.nats import NatsConnection
from mesh.events.streams import DOMAINS, stream_name
from mesh.migrations import KIT_MIGRATIONS, migrate
from mesh.settings import with_database
from tests.conftest import Stack
from tests.integration.gateway_app import gateway_client


@pytest.fixture
async def events_db(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    """A database of its own, with the kit's tables migrated."""
    name = f"test_events_{uuid4().hex[:12]}"
    pool = await create_pool(with_database(stack.database_url, name), max_size=8)
    async with pool.acquire() as conn:
        await migrate(conn, [("mesh", KIT_MIGRATIONS)])
    try:
        yield pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(stack.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def nats(stack: Stack) -> AsyncIterator[NatsConnection]:
    async with NatsConnection(stack.nats_url, name="test-events") as connection:
        assert await connection.wait_connected(10), f"no NATS at {stack.nats_url}"
        yield connection


@pytest.fixture
async def namespace(nats: NatsConnection) -> AsyncIterator[str]:
    """A subject namespace (and stream names) no other test uses; its streams are deleted after."""
    prefix = f"t{uuid4().hex[:10]}"
    yield prefix
    for domain in DOMAINS:
        with contextlib.suppress(NotFoundError):
            await nats.jetstream.delete_stream(stream_name(domain, prefix))


@pytest.fixture(scope="module")
async def gateway(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(
        stack.database_url, module_nats, tmp_path_factory.mktemp("gw")
    ) as client:
        yield client
