"""BatchGetEngagements of 100 ids against a bare grpc.aio echo with the same payload sizes.

Both are called through `mesh.grpc.client.open_channel` (the kit's client interceptors), with
CONCURRENCY calls in flight, from this process; the echo server is its own process.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench import seed
from bench.bare import ECHO_METHOD
from bench.processes import spawn
from bench.stack import Platform
from bench.stats import LoadRun, summarize
from devstack.process import reserve_port
from mesh.grpc.client import open_channel
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

CONCURRENCY = 16


async def drive(
    call: Callable[[], Awaitable[Any]], seconds: float, max_calls: int = 500_000
) -> LoadRun:
    """CONCURRENCY callers, each making its next call when the last one answered."""
    run = LoadRun(CONCURRENCY)
    budget = [max_calls]
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            started = time.perf_counter()
            await call()
            run.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    run.seconds = time.perf_counter() - started
    return run


async def run(
    platform: Platform, engagement_ids: Sequence[str], runs: int, seconds: float
) -> dict[str, Any]:
    request = pb.BatchGetEngagementsRequest(ids=list(engagement_ids))
    async with open_channel(platform.target("project"), deadline_seconds=30) as channel:
        stub = pb_grpc.ProjectServiceStub(channel)
        answer = await stub.BatchGetEngagements(request)
        assert len(answer.engagements) == len(engagement_ids)
        response_bytes = answer.ByteSize()
        await drive(lambda: stub.BatchGetEngagements(request), 1)  # warm-up
        batch = [
            await drive(lambda: stub.BatchGetEngagements(request), seconds) for _ in range(runs)
        ]

    with reserve_port() as reservation:  # held until the echo server is gone
        port = int(reservation.getsockname()[1])
        echo = spawn(
            "bare-echo",
            [sys.executable, "-m", "bench.bare", "echo", str(port), str(response_bytes)],
            platform.data_dir / "bare-echo.log",
        )
        try:
            async with open_channel(f"127.0.0.1:{port}", deadline_seconds=30) as channel:
                call = channel.unary_unary(ECHO_METHOD)
                payload = request.SerializeToString()

                async def ready() -> bool:
                    try:
                        return bool(len(await call(payload, timeout=1)) == response_bytes)
                    except Exception:
                        return False

                await seed.wait_for(platform, "the bare gRPC echo server", ready, 30)
                await drive(lambda: call(payload), 1)  # warm-up
                echoes = [await drive(lambda: call(payload), seconds) for _ in range(runs)]
        finally:
            echo.stop()
    return {
        "ids": len(engagement_ids),
        "request_bytes": request.ByteSize(),
        "response_bytes": response_bytes,
        "concurrency": CONCURRENCY,
        "batch_get": summarize(batch),
        "echo": summarize(echoes),
    }
