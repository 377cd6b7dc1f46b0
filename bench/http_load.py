"""A lean HTTP/1.1 load generator: keep-alive asyncio streams, one request in flight on each.

httpx costs more CPU per request than the servers we measure (LIMITS.md: it caps near 650
req/s), so requests are pre-encoded bytes and responses are read by Content-Length alone.
Loopback only; every run is bounded in time and in requests.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from bench.stats import LoadRun


def post(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> bytes:
    """One encoded keep-alive POST of a JSON body."""
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise ValueError("chunked responses are not supported by this load generator")
    return status, await reader.readexactly(length)


async def load(
    port: int,
    requests: Sequence[bytes],
    *,
    concurrency: int,
    seconds: float,
    max_requests: int = 200_000,
) -> LoadRun:
    """`concurrency` connections, each sending the next request as soon as it has an answer,
    for `seconds` or `max_requests` in all; an answer counts if it is 200 without errors."""
    run = LoadRun(concurrency)
    budget = [max_requests]
    deadline = time.perf_counter() + seconds

    async def connection(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = offset
        try:
            while budget[0] > 0 and time.perf_counter() < deadline:
                budget[0] -= 1
                started = time.perf_counter()
                async with asyncio.timeout(30):  # no task per request, unlike wait_for
                    status, body = await exchange(reader, writer, requests[n % len(requests)])
                n += concurrency
                if status == 200 and b'"errors"' not in body:
                    run.latencies.append(time.perf_counter() - started)
                else:
                    run.failures += 1
                    run.first_failure = run.first_failure or f"{status} {body[:300]!r}"
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(i) for i in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


async def answer(port: int, request: bytes) -> dict[str, Any]:
    """The decoded JSON answer to one request (to check a query before loading with it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(30):
            status, body = await exchange(reader, writer, request)
    finally:
        writer.close()
    decoded: dict[str, Any] = json.loads(body)
    if status != 200 or "errors" in decoded:
        raise RuntimeError(f"HTTP {status}: {body[:500]!r}")
    return decoded
