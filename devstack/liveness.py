"""Liveness probes for `weftwork up`'s children, as Kubernetes runs them: a child that stops
answering (hung, deadlocked, spinning) is restarted, not only one that crashed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from devstack.status import grpc_health

Probe = Callable[[int], Awaitable[bool]]  # is the child listening on this port alive?


@dataclass(frozen=True)
class Liveness:
    """After `failures` failed probes in a row, one every `period` seconds and each failed
    after `timeout`, the child is restarted. Failures count once the child has answered once,
    or `startup` seconds after it said where it listens (what a startup probe is for in
    Kubernetes: a child still starting is not failing, one that never answers is)."""

    probe: Probe
    period: float = 5.0
    timeout: float = 3.0
    failures: int = 3
    startup: float = 120.0


async def until_unhealthy(
    liveness: Liveness, port: Callable[[], int | None], seen: Callable[[bool], None]
) -> int:
    """Probe until the child has failed `failures` times in a row; returns that count. `port`
    says where it listens (None or 0 while nobody knows yet); `seen` hears each result."""
    loop = asyncio.get_running_loop()
    started: float | None = None  # when its port was first known
    answered_once, failed = False, 0
    while failed < liveness.failures:
        await asyncio.sleep(liveness.period)
        listening = port()
        if not listening:
            continue
        started = loop.time() if started is None else started
        try:
            alive = await asyncio.wait_for(liveness.probe(listening), liveness.timeout)
        except Exception:  # a probe that raises or times out has failed
            alive = False
        seen(alive)
        answered_once |= alive
        counting = answered_once or loop.time() - started >= liveness.startup
        failed = 0 if alive or not counting else failed + 1
    return failed


def grpc_serving(host: str) -> Probe:
    """grpc.health.v1 for the whole server answers SERVING (what the pods' `grpc:` probe asks)."""

    async def probe(port: int) -> bool:
        return await grpc_health(f"{host}:{port}") == "SERVING"

    return probe


def http_ok(host: str, path: str) -> Probe:
    """GET `path` answers 200 (the gateway's /healthz)."""

    async def probe(port: int) -> bool:
        async with httpx.AsyncClient(timeout=None) as client:  # the Liveness timeout bounds it
            try:
                response = await client.get(f"http://{host}:{port}{path}")
            except httpx.HTTPError:
                return False
        return response.status_code == 200

    return probe
