"""A small TCP proxy that puts network faults on one link: latency, a blackhole, resets.

A service is pointed at 127.0.0.1:<proxy port> instead of NATS or PostgreSQL (TCP or a unix
socket upstream). The proxies run on an event loop in a thread of their own, so a test that
blocks its own loop for a moment (starting a server waits synchronously) does not stall them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 64 * 1024


class Mode(enum.Enum):
    PASS = "pass"
    LATENCY = "latency"  # every chunk arrives `delay` seconds late, in order, both ways
    BLACKHOLE = "blackhole"  # nothing moves and new connections hang: a partition
    RESET = "reset"  # every connection is reset (RST), and new ones as they come


class LinkProxy:
    """127.0.0.1:<port> → `upstream` ("host:port", or a unix socket path starting with "/")."""

    def __init__(self, name: str, upstream: str) -> None:
        self.name = name
        self.upstream = upstream
        self.mode = Mode.PASS
        self.delay = 0.0
        self.port = 0
        self.resets = 0
        self._moving = asyncio.Event()  # cleared while blackholed; binds to the proxy loop
        self._moving.set()
        self._clients: set[asyncio.StreamWriter] = set()
        self._links: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()
        await asyncio.gather(*self._links, return_exceptions=True)

    def set_mode(self, mode: Mode, delay: float = 0.0) -> None:
        self.mode, self.delay = mode, delay
        if mode is Mode.BLACKHOLE:
            self._moving.clear()
        else:
            self._moving.set()
        if mode is Mode.RESET:
            self._reset_all()

    def _reset_all(self) -> None:
        for client in list(self._clients):
            self._reset(client)

    def _reset(self, client: asyncio.StreamWriter) -> None:
        """Close with RST (SO_LINGER 0): the peer sees ECONNRESET, not a clean end of stream."""
        if client.transport.is_closing():
            return
        with contextlib.suppress(OSError):
            sock = client.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.transport.abort()
        self.resets += 1

    async def _accept(self, reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        if self.mode is Mode.RESET:
            self._reset(client)
            return
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        self._clients.add(client)
        upstream: asyncio.StreamWriter | None = None
        try:
            await self._moving.wait()  # a partition: the connect hangs
            if self.upstream.startswith("/"):
                up_reader, upstream = await asyncio.open_unix_connection(self.upstream)
            else:
                host, port = self.upstream.rsplit(":", 1)
                up_reader, upstream = await asyncio.open_connection(host, int(port))
            # The first direction to end (EOF, error, reset) cancels the other.
            async with asyncio.TaskGroup() as link:
                link.create_task(self._pump(reader, upstream))
                link.create_task(self._pump(up_reader, client))
        except (OSError, ExceptionGroup):
            pass
        finally:
            self._links.discard(task)
            self._clients.discard(client)
            self._reset(client)
            if upstream is not None:
                upstream.transport.abort()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copies one direction through a delay line, which keeps the order under latency."""
        line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        delivering = asyncio.create_task(self._deliver(line, sink))
        try:
            while data := await source.read(CHUNK):
                await self._moving.wait()  # stop reading: TCP backpressure holds the sender
                delay = self.delay if self.mode is Mode.LATENCY else 0.0
                await line.put((time.monotonic() + delay, data))
            await line.join()
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
        raise ConnectionResetError(f"{self.name}: one side closed")

    async def _deliver(
        self, line: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter
    ) -> None:
        while True:
            due, data = await line.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._moving.wait()
            sink.write(data)
            await sink.drain()
            line.task_done()


class ProxyThread:
    """LinkProxies on an event loop in a daemon thread; its methods are called from outside."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        self.proxies: list[LinkProxy] = []

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def open(self, name: str, upstream: str) -> LinkProxy:
        proxy = LinkProxy(name, upstream)
        self._run(proxy.start())
        self.proxies.append(proxy)
        return proxy

    def set_mode(self, proxy: LinkProxy, mode: Mode, delay: float = 0.0) -> None:
        async def change() -> None:
            proxy.set_mode(mode, delay)

        self._run(change())

    def close(self) -> None:
        async def close_all() -> None:
            await asyncio.gather(*(p.close() for p in self.proxies), return_exceptions=True)

        with contextlib.suppress(Exception):
            self._run(close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
