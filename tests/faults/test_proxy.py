"""The fault suite's TCP proxy does what the faults claim: latency in order, a blackhole that
holds (and on healing delivers) what was sent, resets that the client sees as ECONNRESET."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.faults.proxy import LinkProxy, Mode, ProxyThread


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
def proxies() -> Iterator[ProxyThread]:
    thread = ProxyThread()
    yield thread
    thread.close()


@pytest.fixture
async def link(proxies: ProxyThread) -> AsyncIterator[LinkProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield proxies.open("echo", f"127.0.0.1:{port}")
    server.close()


async def _round_trip(writer: asyncio.StreamWriter, reader: asyncio.StreamReader) -> bytes:
    writer.write(b"a")
    writer.write(b"b")
    await writer.drain()
    return await reader.readexactly(2)


async def _connect_and_read(port: int) -> bytes:
    reader, _ = await asyncio.open_connection("127.0.0.1", port)
    return await asyncio.wait_for(reader.read(1), 5)


async def test_latency_delays_each_way_and_keeps_the_order(
    proxies: ProxyThread, link: LinkProxy
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
    assert await _round_trip(writer, reader) == b"ab"
    proxies.set_mode(link, Mode.LATENCY, 0.2)
    started = time.monotonic()
    assert await _round_trip(writer, reader) == b"ab"
    assert time.monotonic() - started >= 0.4
    writer.close()


async def test_a_blackhole_holds_everything_until_healed(
    proxies: ProxyThread, link: LinkProxy
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
    proxies.set_mode(link, Mode.BLACKHOLE)
    writer.write(b"held")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(4), 0.5)
    proxies.set_mode(link, Mode.PASS)
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"held"
    writer.close()


async def test_a_reset_breaks_open_connections_and_refuses_new_ones(
    proxies: ProxyThread, link: LinkProxy
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
    assert await _round_trip(writer, reader) == b"ab"
    proxies.set_mode(link, Mode.RESET)
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(1), 5)
    with pytest.raises(ConnectionResetError):  # on connecting, or on the first read
        await _connect_and_read(link.port)
    proxies.set_mode(link, Mode.PASS)
    reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
    assert await _round_trip(writer, reader) == b"ab"
    writer.close()
