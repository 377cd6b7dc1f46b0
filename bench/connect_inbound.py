"""Webhook intake: signed Standard Webhooks requests to the gateway's /hooks/{source}, each
verified and stored by connect before the 202, against a bare Starlette endpoint that reads
the body and answers 202 (the HTTP layer alone), in the same run.

    .venv/bin/python -m bench.connect_inbound [--seconds 3] [--runs 3]   # this section alone
    .venv/bin/python -m bench.connect_inbound bare PORT                  # the ceiling server

Closed loop at 16 connections (receipts/s), then an offered 200 receipts/s (open loop: each
request is sent at its scheduled time on a free connection; latency counts from then). Every
request has its own webhook-id, so each is stored. The events are of a type connect records
and skips (`bench.ping`): the figure is intake (verify, store, acknowledge), not engagement
creation, which runs after the answer and has its own numbers (project_time).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import report
from bench.http_load import exchange
from bench.processes import spawn
from bench.stack import Platform
from bench.stats import LoadRun, latencies_ms, summarize
from devstack.process import reserve_port
from mesh.grpc.client import open_channel
from weftwork.connect.v1 import connect_service_pb2 as pb
from weftwork.connect.v1 import connect_service_pb2_grpc as pb_grpc

SOURCE = "bench-partner"
CONCURRENCY = 16
OFFERED_RATE = 200.0
BODY_DATA = {"opportunityId": "BENCH", "note": "x" * 400}  # ~0.5 kB, like a small deal


def signed_requests(port: int, secret: str, count: int) -> list[bytes]:
    """Pre-encoded keep-alive POSTs, each with its own webhook-id, signed now (valid 5 min)."""
    hook = Webhook(secret)
    now = dt.datetime.now(dt.UTC)
    stamp = str(int(now.timestamp()))
    encoded = []
    for _ in range(count):
        webhook_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps({"type": "bench.ping", "data": BODY_DATA}).encode()
        head = (
            f"POST /hooks/{SOURCE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"webhook-id: {webhook_id}\r\nwebhook-timestamp: {stamp}\r\n"
            f"webhook-signature: {hook.sign(webhook_id, now, body)}\r\n\r\n"
        )
        encoded.append(head.encode() + body)
    return encoded


async def closed_loop(port: int, requests: list[bytes], seconds: float) -> LoadRun:
    run = LoadRun(CONCURRENCY)
    deadline = time.perf_counter() + seconds
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and (request := next(queue, None)):
                started = time.perf_counter()
                async with asyncio.timeout(30):
                    status, body = await exchange(reader, writer, request)
                if status == 202:
                    run.latencies.append(time.perf_counter() - started)
                else:
                    run.failures += 1
                    run.first_failure = run.first_failure or f"{status} {body[:200]!r}"
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))
    run.seconds = time.perf_counter() - started
    return run


async def offered(port: int, requests: list[bytes], rate: float) -> dict[str, Any]:
    """Open loop: request i is due at i / rate; latency is measured from when it was due."""
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    failures = 0
    start = time.perf_counter() + 0.05

    async def one(i: int, request: bytes) -> None:
        nonlocal failures
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        connection = await free.get()
        try:
            async with asyncio.timeout(30):
                status, _ = await exchange(*connection, request)
        finally:
            free.put_nowait(connection)
        if status == 202:
            latencies.append(time.perf_counter() - due)
        else:
            failures += 1

    await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
    while not free.empty():
        free.get_nowait()[1].close()
    return {
        "rate": rate,
        "requests": len(requests),
        "failures": failures,
        **latencies_ms(latencies),
    }


def serve_bare(port: int) -> None:
    async def receive(request: Request) -> Response:
        await request.body()
        return Response(b'{"accepted": 1, "duplicates": 0}', 202, media_type="application/json")

    app = Starlette(routes=[Route("/hooks/{source}", receive, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_config=None, access_log=False)  # fmt: skip


async def run(platform: Platform, runs: int, seconds: float) -> dict[str, Any]:
    async with open_channel(platform.target("connect"), deadline_seconds=30) as channel:
        stub = pb_grpc.ConnectServiceStub(channel)
        created = await stub.CreateInboundSource(
            pb.CreateInboundSourceRequest(name=SOURCE, kind=pb.SOURCE_KIND_STANDARD_WEBHOOKS)
        )
    secret = created.secret
    gateway = platform.ports["gateway"]
    budget = int(seconds * 3000)  # more than intake can take in `seconds`
    cpu_before = platform.cpu_seconds()
    ours = [await closed_loop(gateway, signed_requests(gateway, secret, budget), seconds)
            for _ in range(runs)]  # fmt: skip
    received = sum(len(r.latencies) for r in ours)
    cpu = {
        name: round((used - cpu_before.get(name, 0.0)) * 1000 / max(1, received), 3)
        for name, used in platform.cpu_seconds().items()
    }
    await _processed(platform)  # the offered run starts with the worker idle
    fixed = await offered(
        gateway, signed_requests(gateway, secret, int(OFFERED_RATE * seconds * 2)), OFFERED_RATE
    )
    with reserve_port() as reservation:  # held until the bare server is gone
        bare_port = int(reservation.getsockname()[1])
        bare = spawn(
            "bare-hooks",
            [sys.executable, "-m", "bench.connect_inbound", "bare", str(bare_port)],
            platform.data_dir / "bare-hooks.log",
            {},
        )
        try:
            await _listening(bare_port)
            ceiling = [
                await closed_loop(
                    bare_port, signed_requests(bare_port, secret, budget * 4), seconds
                )
                for _ in range(runs)
            ]
        finally:
            bare.stop()
    return {
        "closed_loop": {**summarize(ours), "concurrency": CONCURRENCY},
        # CPU ms per acknowledged receipt, by process, while the closed loop ran (the worker
        # and relay keep running after it; "machine" includes everyone on this box).
        "cpu_ms_per_receipt": cpu,
        "offered": fixed,
        "ceiling": summarize(ceiling),
    }


async def _processed(platform: Platform, within: float = 180.0) -> None:
    """Until the receipt worker has settled everything stored so far."""
    deadline = time.monotonic() + within
    conn = await asyncpg.connect(platform.service_dsn("connect"))
    try:
        while await conn.fetchval("SELECT count(*) FROM receipts WHERE status = 'PENDING'"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"receipts still pending after {within:.0f} s")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def _listening(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def rows(t: report.Table, results: dict[str, Any] | None) -> None:
    """The section of the report table (absent when the run had no connect)."""
    if not results:
        return
    ours, ceiling, fixed = results["closed_loop"], results["ceiling"], results["offered"]
    t.section("Webhook intake: signed POST /hooks -> verified, stored, 202 (connect);"
              " ceiling: bare Starlette reading the body")  # fmt: skip
    t.row(f"receipts/s, c={ours['concurrency']}", report.n(ours["rate"]),
          report.n(ours["p50_ms"], 1), report.n(ours["p99_ms"], 1), report.n(ceiling["rate"]),
          report.ratio(ours["rate"], ceiling["rate"]), "≥ 0.30 of the ceiling")  # fmt: skip
    t.row(f"  offered {fixed['rate']:.0f}/s: acknowledgement", f"{fixed['failures']} failed",
          report.n(fixed["p50"], 1), report.n(fixed["p99"], 1),
          target="p99 ≤ 100 ms")  # fmt: skip


def main() -> None:
    if sys.argv[1:2] == ["bare"]:
        serve_bare(int(sys.argv[2]))
        return
    import shutil
    import tempfile

    import uvloop

    from bench.stack import running_platform

    parser = argparse.ArgumentParser(prog="python -m bench.connect_inbound")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-bench-connect-"))

    async def measure() -> dict[str, Any]:
        async with running_platform(data_dir) as platform:
            return await run(platform, args.runs, args.seconds)

    try:
        results = uvloop.run(measure())
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    t = report.Table()
    rows(t, results)
    print("\n".join(report.render(t.rows)))
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
