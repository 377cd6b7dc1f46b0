"""One NATS connection per process, made in the background and kept forever.

A service starts while NATS is down and keeps serving: its outbox fills, its consumers wait,
and both catch up when the connection comes (or comes back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Self

from nats.aio.client import Client as NATS
from nats.errors import SlowConsumerError
from nats.js import JetStreamContext

from mesh.retry import backoff_delay
from mesh.settings import TlsFiles, server_urls

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """The URL with its secrets masked (a password, or a token alone before the @):
    credentials travel in WEFTWORK_NATS_URL, and logs must not carry them."""

    def mask(userinfo: re.Match[str]) -> str:
        user, colon, _ = userinfo[1].partition(":")
        return f"//{user}:***@" if colon else "//***@"

    return re.sub(r"//([^/@,]*)@", mask, url)


def nats_tls(files: TlsFiles | None) -> ssl.SSLContext | None:
    """TLS to NATS for a process with a mesh identity: the server must chain to the mesh CA,
    and the client presents its own certificate if the server asks for one. Used when the URL
    is tls:// or the server requires TLS (`tls {}` in its configuration)."""
    if files is None:
        return None
    context = ssl.create_default_context(cafile=str(files.ca))
    context.load_cert_chain(str(files.cert), str(files.key))
    return context


# How long close() may take: flushing what is buffered to a server that no longer reads
# must not hold a shutting-down process.
CLOSE_SECONDS = 5.0


def _abort(client: NATS) -> None:
    """Drop the client's socket at once (nats-py offers no public abort)."""
    writer = getattr(getattr(client, "_transport", None), "_io_writer", None)
    if writer is not None:
        writer.transport.abort()


class NatsUnavailable(RuntimeError):
    """No connection to NATS right now; the caller retries later."""


class NatsConnection:
    """Connects in the background, retrying, and reconnects forever; `async with` or start/close."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        connect_timeout: int = 2,
        reconnect_wait: float = 1.0,
        tls: ssl.SSLContext | None = None,
        close_timeout: float = CLOSE_SECONDS,
    ) -> None:
        self.url = url
        self._tls = tls
        self.shown_url = redacted(url)
        self.name = name
        self._connect_timeout = connect_timeout
        self._reconnect_wait = reconnect_wait
        self._close_timeout = close_timeout
        self._client: NATS | None = None
        self._jetstream: JetStreamContext | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One warning per outage: nats-py retries every reconnect_wait and would flood the log.
        self._outage_reported = False
        # Called with True when connected (again), False when the connection is lost or a
        # subscription dropped messages (a slow consumer).
        self.state_listeners: list[Callable[[bool], None]] = []

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                self._connect_forever(), name=f"nats-connect-{self.name}"
            )

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def client(self) -> NATS:
        if self._client is None:
            raise NatsUnavailable(f"not yet connected to {self.shown_url}")
        return self._client

    @property
    def jetstream(self) -> JetStreamContext:
        """The JetStream context; stays the same object across reconnects."""
        if self._jetstream is None:
            raise NatsUnavailable(f"not yet connected to {self.shown_url}")
        return self._jetstream

    async def wait_connected(self, within: float | None = None) -> bool:
        """True once connected (now or within `within` seconds); False when that passed first."""
        try:
            await asyncio.wait_for(self._connected.wait(), within)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        client, self._client, self._jetstream = self._client, None, None
        self._connected.clear()
        if client is None or client.is_closed:
            return
        if client.is_connected:
            # Acks and publishes still in the write buffer go out before we hang up.
            with contextlib.suppress(Exception):
                await client.flush(timeout=1)
        try:
            await asyncio.wait_for(client.close(), self._close_timeout)
        except TimeoutError:
            # A server that stopped reading (paused, cut off) would keep the close waiting on
            # its socket for ever, with our unsent bytes: hang up without them.
            log.warning("NATS close timed out; connection dropped", extra={"url": self.shown_url})
            _abort(client)

    async def _connect_forever(self) -> None:
        attempt = 0
        while True:
            client = NATS()
            try:
                # max_reconnect_attempts=-1: nats-py itself retries a refused first connect
                # and every later reconnect, forever; we only loop on errors it gives up on.
                await client.connect(
                    server_urls(self.url),  # one server, or each of a cluster's
                    name=self.name,
                    connect_timeout=self._connect_timeout,
                    reconnect_time_wait=self._reconnect_wait,  # type: ignore[arg-type]
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    closed_cb=self._on_closed,
                    tls=self._tls,
                    # tls:// is TLS from the first byte (the server's `handshake_first`):
                    # no plaintext INFO an attacker could answer to talk us out of TLS.
                    tls_handshake_first=self.url.startswith("tls://"),
                )
            except Exception as exc:
                attempt += 1
                log.warning(
                    "cannot connect to NATS", extra={"url": self.shown_url, "error": repr(exc)}
                )
                with contextlib.suppress(Exception):
                    await client.close()
                await asyncio.sleep(backoff_delay(attempt, base=0.2, cap=10.0))
                continue
            self._client = client
            self._jetstream = client.jetstream()
            self._outage_reported = False
            self._connected.set()
            self._tell(True)
            log.info("connected to NATS", extra={"url": self.shown_url})
            return

    async def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, SlowConsumerError):
            # Messages were dropped: to a listener that is as good as a lost connection.
            self._tell(False)
            if self.is_connected:
                self._tell(True)
        if not self._outage_reported:
            self._outage_reported = True
            log.warning("NATS connection error", extra={"url": self.shown_url, "error": repr(exc)})
        else:
            log.debug("NATS connection error", extra={"url": self.shown_url, "error": repr(exc)})

    def _tell(self, connected: bool) -> None:
        for listener in self.state_listeners:
            listener(connected)

    async def _on_disconnected(self) -> None:
        self._connected.clear()
        self._tell(False)

    async def _on_reconnected(self) -> None:
        self._outage_reported = False
        self._connected.set()
        self._tell(True)
        log.info("reconnected to NATS", extra={"url": self.shown_url})

    async def _on_closed(self) -> None:
        self._connected.clear()
        self._tell(False)
