"""NatsConnection.close() is bounded: a server that stops reading (paused, cut off) cannot keep
a shutting-down process waiting on its socket."""

from __future__ import annotations

import asyncio
import contextlib
import json

from mesh.events.nats import NatsConnection

INFO = {"server_id": "hung", "version": "2.10.0", "proto": 1, "max_payload": 1_048_576}


async def _hung_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hang: asyncio.Event
) -> None:
    """Answers the handshake like a NATS server, then never reads again."""
    writer.write(f"INFO {json.dumps(INFO)}\r\n".encode())
    while (line := await reader.readline()) and not line.startswith(b"PING"):
        pass
    writer.write(b"PONG\r\n")
    await writer.drain()
    await hang.wait()
    writer.close()


async def test_close_returns_within_its_bound_when_the_server_stops_reading() -> None:
    hang = asyncio.Event()
    server = await asyncio.start_server(lambda r, w: _hung_server(r, w, hang), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = NatsConnection(f"nats://127.0.0.1:{port}", name="close-test", close_timeout=1.0)
    try:
        connection.start()
        assert await connection.wait_connected(10)
        # Publish until the socket is full (the server reads none of it) and bytes wait in
        # the client's own buffer, which a graceful close would wait to send.
        client, chunk = connection.client, b"x" * 256 * 1024
        for _ in range(1_000):
            await client.publish("hung.subject", chunk)
            for _ in range(3):
                await asyncio.sleep(0)  # the flusher's turn
            if _buffered(connection) > 0:
                break
        assert _buffered(connection) > 0, "the socket never filled"
        await asyncio.wait_for(connection.close(), 10)  # bounded by close_timeout, not forever
        assert not connection.is_connected
    finally:
        hang.set()
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)


def _buffered(connection: NatsConnection) -> int:
    """Bytes the client's socket could not take yet (nats-py keeps its transport private)."""
    writer = getattr(connection.client._transport, "_io_writer")  # noqa: B009
    return int(writer.transport.get_write_buffer_size())
