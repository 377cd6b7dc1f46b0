"""Outbound HTTP: webhook posts and CRM API calls with httpx, guarded against SSRF.

In production every connection is checked where it is made: the host name is resolved, every
address must be public (domain/webhooks.is_public), and the socket is opened to the address
that was checked, so a name that changes its answer between check and connect (DNS
rebinding) cannot reach an internal address; TLS still verifies the certificate for the name.
No redirects are followed, proxies from the environment are ignored, answers are read up to
a cap, and every request has a timeout. `allow_insecure` (development only) lifts the
address check so a receiver on 127.0.0.1 can be reached.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import certifi
import httpcore
import httpx

from services.connect.domain.delivery import Attempt, parse_retry_after
from services.connect.domain.webhooks import is_public
from services.connect.domain.writeback import CrmRequest

MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "Weftwork-Webhooks/1.0"


class RefusedAddress(httpcore.ConnectError):
    """The target resolves to an address production deliveries must not reach."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to public addresses, to the address it checked."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await checked_address(host, port)
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("unix sockets are not a delivery target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def checked_address(host: str, port: int) -> str:
    """The first address of `host`, when every address it resolves to is public."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError as exc:
        raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    refused = [a for a in addresses if not is_public(a)]
    if not addresses or refused:
        raise RefusedAddress(
            f"{host} resolves to a non-public address ({refused[0] if refused else 'none'})"
        )
    return str(addresses[0])


def client(*, timeout: float, allow_insecure: bool, max_connections: int = 64) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    if not allow_insecure:
        # httpx has no hook for the network backend, so its pool is rebuilt with ours.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(),
        )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )


class HttpSender:
    """Sender (handlers/outbound_ports.py) over one httpx client."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post_webhook(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        return await self._send("POST", url, body, {**headers, "content-type": "application/json"})

    async def call_crm(self, request: CrmRequest, token: str) -> Attempt:
        body = json.dumps(request.json, separators=(",", ":")).encode()
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        return await self._send(request.method, request.url, body, headers)

    async def _send(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        try:
            async with self.http.stream(method, url, content=body, headers=headers) as answer:
                head = await _read_capped(answer)
        except RefusedAddress as exc:
            return Attempt(0, f"refused: {exc}")
        except httpx.TimeoutException as exc:
            return Attempt(0, f"timeout: {type(exc).__name__}")
        except (httpx.HTTPError, httpcore.ConnectError, OSError) as exc:
            if isinstance(exc.__cause__, RefusedAddress):  # httpx wraps httpcore's errors
                return Attempt(0, f"refused: {exc.__cause__}")
            return Attempt(0, f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= answer.status_code < 300:
            return Attempt(answer.status_code)
        retry_after = parse_retry_after(answer.headers.get("retry-after"), dt.datetime.now(dt.UTC))
        snippet = head[:300].decode("utf-8", "replace")
        return Attempt(
            answer.status_code,
            f"HTTP {answer.status_code}: {snippet}",
            retry_after,
            transient=answer.status_code == 403 and b"REQUEST_LIMIT_EXCEEDED" in head,
        )


async def _read_capped(answer: httpx.Response) -> bytes:
    """At most MAX_ANSWER_BYTES of the answer: a receiver cannot make us read a stream."""
    kept = bytearray()
    async for chunk in answer.aiter_raw():
        kept.extend(chunk[: MAX_ANSWER_BYTES - len(kept)])
        if len(kept) >= MAX_ANSWER_BYTES:
            break
    return bytes(kept)
