"""Ceilings of the pipeline, measured in the same run: raw JetStream and PostgreSQL COPY.

Raw JetStream: one process publishes with nats-py `publish_async` (no headers, no
`wait_stall`: the transport alone) into a stream with the platform's settings (file storage,
R1, default sync, 10-minute duplicate window); two other processes, like billing and revenue,
each pull from their own durable consumer with `fetch(256)` and ack every message, doing
nothing else.
Throughput = messages / (last ack of either consumer - first publish).

    .venv/bin/python -m bench.ceilings publish|consume ...   (the child processes)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import nats
import uvloop

from devstack.process import dying_with_parent
from mesh.events.nats import NatsConnection
from mesh.events.streams import ensure_consumer, ensure_stream
from mesh.settings import server_urls

NAMESPACE = "bench"  # stream BENCH_PROJECT, subjects bench.project.>
STREAM = "BENCH_PROJECT"
SUBJECT = "bench.project.time_entry.approved.v1"
FETCH = 256  # the kit consumer's batch size


async def raw_jetstream(
    nats_url: str, messages: int, size: int, run: int, *, replicas: int = 1
) -> dict[str, Any]:
    """Publish → two consumers, each in its own process; messages/s end to end. `replicas`:
    3 on the durable mode's cluster (bench/durable.py)."""
    async with NatsConnection(nats_url, name="bench-raw") as connection:
        await connection.wait_connected(10)
        js = connection.jetstream
        await ensure_stream(js, "project", replicas=replicas, namespace=NAMESPACE)
        await js.purge_stream(STREAM)
        durables = [f"raw-{run}-{size}-{n}" for n in range(2)]
        for durable in durables:
            await ensure_consumer(js, STREAM, durable, [SUBJECT], ack_wait=30, max_deliver=-1)
        within = 30 + messages / 2000
        children = [
            await _child("consume", nats_url, d, str(messages), str(within)) for d in durables
        ]
        try:
            await asyncio.sleep(0.5)  # let both bind before the first message
            children.insert(
                0, await _child("publish", nats_url, str(messages), str(size), str(within))
            )
            results = [await _result(child, within + 10) for child in children]
        finally:
            for child in children:
                if child.returncode is None:
                    child.kill()
                    await child.wait()
        for durable in durables:
            await js.delete_consumer(STREAM, durable)
        await js.purge_stream(STREAM)
    published, *received = results
    last = max(r["last"] for r in received)
    got = min(r["received"] for r in received)
    return {
        "messages": messages,
        "payload_bytes": size,
        "received": got,
        "publish_rate": messages / (published["done"] - published["started"]),
        "rate": got / (last - published["started"]),
    }


async def _child(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *dying_with_parent([sys.executable, "-m", "bench.ceilings", *args], signal.SIGKILL),
        stdout=asyncio.subprocess.PIPE,
    )


async def _result(proc: asyncio.subprocess.Process, within: float) -> dict[str, Any]:
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        raise RuntimeError("a raw JetStream process did not finish in time") from None
    if proc.returncode != 0:
        raise RuntimeError(f"a raw JetStream process failed with {proc.returncode}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def _publish(url: str, messages: int, size: int, within: float) -> dict[str, float]:
    client = await nats.connect(server_urls(url))
    js = client.jetstream()
    payload = os.urandom(size)
    started = time.time()
    for _ in range(messages):
        await js.publish_async(SUBJECT, payload)
    await asyncio.wait_for(js.publish_async_completed(), within)
    done = time.time()
    await client.close()
    return {"started": started, "done": done}


async def _consume(url: str, durable: str, messages: int, within: float) -> dict[str, float]:
    client = await nats.connect(server_urls(url))
    subscription = await client.jetstream().pull_subscribe_bind(durable=durable, stream=STREAM)
    received, deadline = 0, time.monotonic() + within
    while received < messages and time.monotonic() < deadline:
        try:
            batch = await subscription.fetch(FETCH, timeout=1)
        except TimeoutError:
            continue
        for message in batch:
            await message.ack()
        received += len(batch)
    last = time.time()
    await client.flush()
    await client.close()
    return {"received": received, "last": last}


async def copy_ceiling(dsn: str, rows: int, batch: int) -> float:
    """Rows/s of copy_records_to_table into a billable_items look-alike (its columns, checks
    and indexes), one transaction per `batch` rows, as the pipeline's consumers commit."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_copy_items")
        await conn.execute("CREATE TABLE bench_copy_items (LIKE billable_items INCLUDING ALL)")
        engagement, now, day = uuid.uuid4(), dt.datetime.now(dt.UTC), dt.date(2025, 1, 1)
        columns = ["id", "engagement_id", "kind", "source_id", "service_date", "description"]
        columns += ["quantity", "unit_price", "amount", "currency", "created_at"]
        amounts = (Decimal(8), Decimal("187.35"), Decimal("1498.80"), "GBP", now)
        records = [
            (uuid.uuid4(), engagement, "TIME", str(uuid.uuid4()), day, "Benchmark work", *amounts)
            for _ in range(rows)
        ]
        started = time.perf_counter()
        for i in range(0, rows, batch):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "bench_copy_items", records=records[i : i + batch], columns=columns
                )
        seconds = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_copy_items")
        return rows / seconds
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceilings")
    parser.add_argument("role", choices=["publish", "consume"])
    parser.add_argument("args", nargs="+")
    options = parser.parse_args()
    url, *rest = options.args
    if options.role == "publish":
        result = uvloop.run(_publish(url, int(rest[0]), int(rest[1]), float(rest[2])))
    else:
        result = uvloop.run(_consume(url, rest[0], int(rest[1]), float(rest[2])))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
