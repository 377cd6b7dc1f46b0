"""The gateway's response cache: the same queries on a second gateway process with the cache
off (WEFTWORK_GATEWAY_CACHE_MB=0), and the staleness of a cached view, from a write sent
straight to the project service (not through the gateway) until the view shows it.

The main gateway (bench/gateway_bench.py) runs with the cache on, so its `view` figures are a
warm cache's; here `view` and `page` are measured again without it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench import http_load, seed
from bench.processes import spawn
from bench.stack import WEFTWORK, Platform
from devstack.process import reserve_port
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

STALE_QUERY = "query Hours($id: ID!) { engagement(id: $id) { budget { approvedHours } } }"
SETTLE_SECONDS = 2.5  # longer than the cache's settling time after a change (gateway/cache.py)
ROUNDS, AT_ONCE = 8, 5  # a few at once: the samples' own reads should not be the load


async def cache_off(
    platform: Platform,
    requests: Callable[[int], dict[str, list[bytes]]],
    measure: Callable[[int, Sequence[bytes]], Any],
) -> dict[str, Any]:
    """`view` and `page` on a gateway process of the same build with the cache off."""
    with reserve_port() as reservation:  # held until the second gateway is gone
        port = int(reservation.getsockname()[1])
        env = {
            **platform.env("gateway"),
            "WEFTWORK_GATEWAY_PORT": str(port),
            "WEFTWORK_GATEWAY_CACHE_MB": "0",
        }
        child = spawn(
            "gateway-nocache",
            [str(WEFTWORK), "serve", "gateway"],
            platform.data_dir / "gateway-nocache.log",
            env,
        )
        try:
            by_name = requests(port)
            await seed.wait_for(
                platform, "the cache-off gateway", lambda: _answers(port, by_name["page"][0]), 60
            )
            return {
                "view": await measure(port, by_name["view"]),
                "page": await measure(port, by_name["page"]),
            }
        finally:
            child.stop()


async def staleness(
    platform: Platform,
    project: pb_grpc.ProjectServiceStub,
    firm: seed.Firm,
    headers: dict[str, str],
) -> dict[str, Any]:
    """Seconds from ApproveTime's answer (its commit is done) from the project service until
    the gateway's cached view of that engagement shows the new hours: the outbox relay, NATS,
    the eviction and the next read; ROUNDS x AT_ONCE samples, each view warm (read twice,
    settled) before."""
    ids = await seed.open_engagements(project, firm, "stale", AT_ONCE, AT_ONCE)
    people = [f"stale-{n}" for n in range(AT_ONCE)]  # 8 hours a day each: one per engagement
    await seed.register_people(project, firm, people)
    await seed.wait_set_up(platform, ids)
    port = platform.ports["gateway"]
    samples: list[float] = []
    for round_ in range(ROUNDS):
        day = firm.start + dt.timedelta(days=round_)
        sheets = [seed.timesheet(e, [p], 1, day) for e, p in zip(ids, people, strict=True)]
        entries, _ = await seed.submit(project, sheets)
        bodies = [{"query": STALE_QUERY, "variables": {"id": e}} for e in ids]
        views = [http_load.post(port, "/graphql", body, headers) for body in bodies]
        await asyncio.sleep(SETTLE_SECONDS)  # the submits' events settle; then warm each view
        before = [_hours(await http_load.answer(port, v)) for v in views]
        await asyncio.gather(*(http_load.answer(port, v) for v in views))
        samples += await asyncio.gather(
            *(
                _until_changed(project, port, view, entry, was)
                for view, entry, was in zip(views, entries, before, strict=True)
            )
        )
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max_ms": 1000 * ordered[-1],
    }


async def _until_changed(
    project: pb_grpc.ProjectServiceStub, port: int, view: bytes, entry: list[str], was: str
) -> float:
    await project.ApproveTime(pb.ApproveTimeRequest(ids=entry), timeout=30)
    started = time.monotonic()  # committed: the answer comes after the commit
    while _hours(await http_load.answer(port, view)) == was:
        if time.monotonic() - started > 30:
            raise RuntimeError("a cached view never showed an approval made 30 s before")
        await asyncio.sleep(0.002)
    return time.monotonic() - started


def _hours(answer: dict[str, Any]) -> str:
    return str(answer["data"]["engagement"]["budget"]["approvedHours"])


async def _answers(port: int, request: bytes) -> bool:
    try:
        await http_load.answer(port, request)
    except (OSError, RuntimeError, asyncio.IncompleteReadError):
        return False
    return True
