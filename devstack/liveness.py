"""Liveness probes for `weftwork up`'s children, as Kubernetes runs them: a child that stops
answering (hung, deadlocked, spinning) is restarted, not only one that crashed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from devstack.status import grpc_health
from mesh.settings import TlsFiles

Probe = Callable[[], Awaitable[bool]]  # is the child alive?


@dataclass(frozen=True)
class Liveness:
    """After `failures` failed probes in a row, one every `period` seconds and each failed
    after `timeout`, the child is restarted. Failures count once the child has answered once,
    or `startup` seconds after it started (what a startup probe is for in Kubernetes: a child
    still starting is not failing, one that never answers is)."""

    probe: Probe
    period: float = 5.0
    timeout: float = 3.0
    failures: int = 3
    startup: float = 120.0


async def until_unhealthy(liveness: Liveness, seen: Callable[[bool], None]) -> int:
    """Probe a child from its start until it has failed `failures` times in a row; returns
    that count. `seen` hears each result."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    answered_once, failed = False, 0
    while failed < liveness.failures:
        await asyncio.sleep(liveness.period)
        try:
            alive = await asyncio.wait_for(liveness.probe(), liveness.timeout)
        except Exception:  # a probe that raises or times out has failed
            alive = False
        seen(alive)
        answered_once |= alive
        counting = answered_once or loop.time() - started >= liveness.startup
        failed = 0 if alive or not counting else failed + 1
    return failed


def grpc_serving(target: str, tls: TlsFiles | None = None, server_name: str | None = None) -> Probe:
    """grpc.health.v1 for the whole server answers SERVING (what the pods' `grpc:` probe asks);
    over mutual TLS as `tls` (the ops identity) when the stack runs it."""

    async def probe() -> bool:
        return await grpc_health(target, tls, server_name=server_name) == "SERVING"

    return probe


def http_ok(url: str) -> Probe:
    """GET `url` answers 200 (the gateway's /healthz)."""

    async def probe() -> bool:
        async with httpx.AsyncClient(timeout=None) as client:  # the Liveness timeout bounds it
            try:
                response = await client.get(url)
            except httpx.HTTPError:
                return False
        return response.status_code == 200

    return probe
