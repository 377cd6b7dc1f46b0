"""A service starting while PostgreSQL starts up waits for it instead of exiting (a process
restarted during a PostgreSQL restart used to end on "the database system is starting up")."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import asyncpg

from mesh.db import create_pool
from mesh.settings import with_database
from tests.conftest import Stack

SSL_REQUEST = 80877103


def _starting_up() -> bytes:
    fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer a connection's start-up as PostgreSQL does while it recovers."""
    while True:
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        (code,) = struct.unpack("!i", (await reader.readexactly(length - 4))[:4])
        if code != SSL_REQUEST:
            break
        writer.write(b"N")  # no TLS; the start-up message follows
    writer.write(_starting_up())
    await writer.drain()
    writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def recovering(database_url: str, refusals: int) -> AsyncIterator[str]:
    """A PostgreSQL in front of the real one that says "starting up" to the first connections."""
    real = urlsplit(database_url)
    query = {k: v[-1] for k, v in parse_qs(real.query).items()}
    host, port = query.get("host", real.hostname or ""), int(query.get("port", real.port or 5432))
    seen = 0

    async def upstream() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if host.startswith("/"):  # a socket directory, as the embedded server's DSN has
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, port)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        seen += 1
        if seen <= refusals:
            await _refuse(reader, writer)
            return
        up_reader, up_writer = await upstream()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    user = real.netloc.rpartition("@")[0]
    try:
        yield f"postgresql://{user}@127.0.0.1:{server.sockets[0].getsockname()[1]}/postgres"
    finally:
        server.close()


async def test_a_pool_waits_for_a_database_that_is_starting_up(stack: Stack) -> None:
    name = f"t_start_{uuid.uuid4().hex[:10]}"
    async with recovering(stack.database_url, refusals=3) as url:
        try:
            await asyncpg.connect(with_database(url, "postgres"))
        except asyncpg.CannotConnectNowError:
            pass  # what a service's start met; the proxy now has two refusals left
        else:
            raise AssertionError("the proxy should have refused the first connection")
        pool = await create_pool(with_database(url, name), max_size=2)
        try:
            assert await pool.fetchval("SELECT current_database()") == name
        finally:
            await pool.close()
