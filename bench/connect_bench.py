"""Connect under load (issue #15), each figure against a bare ceiling measured in the same run.

Inbound: Standard-Webhooks-signed `POST /hooks/{source}` through the gateway: verified, stored
(deduplicated by webhook-id) and acknowledged 202 by connect; closed loop at `CONCURRENCY`
for `seconds`. The body is a realistic deal of a type connect records and skips, so the
background processing stays cheap and the figure is the intake's. Ceiling: bare Starlette
(uvicorn, uvloop, httptools) that verifies the same signature with the same library and
answers 202, storing nothing. Then acknowledgement latency at a fixed 200 receipts/s (open
loop: each request timed from when it was due, so a stall is not hidden).

Outbound: `deliveries` invoice.issued events published on BILLING as billing's relay does,
fanned out by connect's consumer and delivered, signed, to a bare receiver process;
deliveries/s from the first publish to the last DELIVERED row. Ceiling: bare httpx posting
the same signed bodies to the same receiver with as many requests in flight as connect's
delivery lanes x batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
import uuid
from typing import Any

import asyncpg
import httpx
from google.protobuf import json_format
from nats.js import JetStreamContext
from standardwebhooks import Webhook

from bench import http_load
from bench.processes import Child, spawn
from bench.stack import JWT_SECRET, Platform, free_port
from bench.stats import LoadRun, latencies_ms, summarize
from mesh.events.cloudevents import event_headers
from mesh.grpc.convert import date_to_proto, money_to_proto
from mesh.money import Money
from mesh.tokens import issue_token
from weftwork.billing.v1 import events_pb2 as billing

CONCURRENCY = 16
FIXED_RATE = 200.0
IN_FLIGHT = 64  # connect's default delivery lanes (2) x batch (32)
ISSUED = "weftwork.billing.invoice.issued.v1"
CREATE_SOURCE = (
    """mutation($i: InboundSourceInput!) { createInboundSource(input: $i) { secret } }"""
)
CREATE_ENDPOINT = """mutation($i: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $i) { secret endpoint { id } }
}"""
DEAL = {
    "opportunityId": "BENCH",
    "account": {"externalId": "acct-bench", "name": "Bench Client Inc", "country": "US",
                "domain": "bench.example.com"},
    "name": "Benchmark engagement", "legalEntity": "US01", "currency": "USD",
    "billingModel": "TIME_AND_MATERIALS", "startDate": "2026-01-05", "endDate": "2026-06-30",
    "rateCard": [{"role": "consultant", "billRate": "150.00", "costRate": "90"}],
}  # fmt: skip


def _admin() -> dict[str, str]:
    token = issue_token(JWT_SECRET, subject="bench", roles=["admin"], entities=["*"])
    return {"Authorization": f"Bearer {token}"}


async def _gql(port: int, query: str, **variables: Any) -> dict[str, Any]:
    answer = await http_load.answer(
        port, http_load.post(port, "/graphql", {"query": query, "variables": variables}, _admin())
    )
    data: dict[str, Any] = answer["data"]
    return data


def _signed_hooks(port: int, path: str, secret: str, count: int) -> list[bytes]:
    """`count` encoded requests, each its own webhook-id, signed now (valid five minutes)."""
    webhook, now = Webhook(secret), dt.datetime.now(dt.UTC)
    requests = []
    for n in range(count):
        message_id = f"msg_bench_{uuid.uuid4().hex}"
        body = {"type": "bench.ping", "data": {**DEAL, "opportunityId": f"BENCH-{n}"}}
        payload = json.dumps(body).encode()
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(message_id, now, payload),
        }
        requests.append(http_load.post(port, path, body, headers))
    return requests


async def _closed_loop(port: int, requests: list[bytes], seconds: float) -> LoadRun:
    """Like http_load.load, for an answer of 202."""
    run, budget = LoadRun(CONCURRENCY), [len(requests)]
    deadline = time.perf_counter() + seconds

    async def connection(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while budget[0] > 0 and time.perf_counter() < deadline:
                budget[0] -= 1
                started = time.perf_counter()
                async with asyncio.timeout(30):
                    status, body = await http_load.exchange(reader, writer, requests[budget[0]])
                if status == 202:
                    run.latencies.append(time.perf_counter() - started)
                else:
                    run.failures += 1
                    run.first_failure = run.first_failure or f"{status} {body[:300]!r}"
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(i) for i in range(CONCURRENCY)))
    run.seconds = time.perf_counter() - started
    return run


async def _fixed_rate(port: int, requests: list[bytes], rate: float) -> LoadRun:
    """Open loop: request n is due at n/rate; latency counts from when it was due."""
    run = LoadRun(CONCURRENCY)
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(32):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    started = time.perf_counter()

    async def one(n: int, request: bytes) -> None:
        due = started + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        reader, writer = await free.get()
        try:
            async with asyncio.timeout(30):
                status, body = await http_load.exchange(reader, writer, request)
        finally:
            free.put_nowait((reader, writer))
        if status == 202:
            run.latencies.append(time.perf_counter() - due)
        else:
            run.failures += 1
            run.first_failure = run.first_failure or f"{status} {body[:300]!r}"

    await asyncio.gather(*(one(n, r) for n, r in enumerate(requests)))
    run.seconds = time.perf_counter() - started
    while not free.empty():
        free.get_nowait()[1].close()
    return run


async def inbound(platform: Platform, runs: int, seconds: float) -> dict[str, Any]:
    gateway = platform.ports["gateway"]
    name = f"bench-{uuid.uuid4().hex[:6]}"
    created = await _gql(gateway, CREATE_SOURCE, i={"name": name, "kind": "STANDARD_WEBHOOKS"})
    secret = str(created["createInboundSource"]["secret"])
    path, budget = f"/hooks/{name}", int(seconds * 3000)
    ours = [await _closed_loop(gateway, _signed_hooks(gateway, path, secret, budget), seconds)
            for _ in range(runs)]  # fmt: skip
    bare = await _bare(platform, "hooks", secret)
    try:
        port = int(bare.name.split(":")[1])
        ceiling = [await _closed_loop(port, _signed_hooks(port, path, secret, budget), seconds)
                   for _ in range(runs)]  # fmt: skip
    finally:
        bare.stop()
    paced = _signed_hooks(gateway, path, secret, int(FIXED_RATE * max(seconds, 5.0)))
    fixed = await _fixed_rate(gateway, paced, FIXED_RATE)
    return {
        "concurrency": CONCURRENCY,
        "ours": summarize(ours),
        "bare_starlette": summarize(ceiling),
        "fixed_rate": {"rate": FIXED_RATE, **latencies_ms(fixed.latencies),
                       "failures": fixed.failures, "requests": len(fixed.latencies)},
    }  # fmt: skip


async def _bare(platform: Platform, kind: str, secret: str = "") -> Child:
    port = free_port()
    child = spawn(
        f"bare-{kind}:{port}",
        [sys.executable, "-m", "bench.connect_bare", kind, str(port), secret],
        platform.data_dir / f"bare-{kind}.log",
    )
    deadline = time.monotonic() + 30
    while True:
        child.check_alive()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return child
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def _invoice(n: int) -> tuple[str, billing.InvoiceIssued]:
    engagement = str(uuid.UUID(int=n % 500 + 1))  # chains of events per engagement
    invoice = str(uuid.uuid4())
    total = money_to_proto(Money.of("1200.00", "USD"))
    return invoice, billing.InvoiceIssued(
        invoice_id=invoice, version=2, number=f"US01-2026-{n:06d}", engagement_id=engagement,
        customer_id=str(uuid.UUID(int=1)), legal_entity="US01", currency="USD",
        issue_date=date_to_proto(dt.date(2026, 3, 31)), subtotal=total, total=total,
    )  # fmt: skip


async def _publish(js: JetStreamContext, count: int) -> None:
    pending = []
    for n in range(count):
        invoice, message = _invoice(n)
        headers = event_headers(
            event_id=uuid.uuid4(), service="billing", subject=ISSUED, aggregate_id=invoice,
            aggregate_version=2,
        )  # fmt: skip
        pending.append(await js.publish_async(ISSUED, message.SerializeToString(), headers=headers))
        if len(pending) >= 500:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)


async def outbound(platform: Platform, js: JetStreamContext, deliveries: int) -> dict[str, Any]:
    receiver = await _bare(platform, "receiver")
    try:
        port = int(receiver.name.split(":")[1])
        url = f"http://127.0.0.1:{port}/bench"
        created = await _gql(platform.ports["gateway"], CREATE_ENDPOINT,
                             i={"url": url, "eventTypes": [ISSUED]})  # fmt: skip
        endpoint = created["createWebhookEndpoint"]
        conn = await asyncpg.connect(platform.service_dsn("connect"))
        try:
            started = time.perf_counter()
            await _publish(js, deliveries)
            while True:
                done = await conn.fetchval(
                    "SELECT count(*) FROM deliveries WHERE target_id = $1 AND status = 'DELIVERED'",
                    uuid.UUID(endpoint["endpoint"]["id"]),
                )
                if done >= deliveries:
                    break
                platform.check_alive()
                if time.perf_counter() - started > 600:
                    raise RuntimeError(f"only {done} of {deliveries} delivered after 600 s")
                await asyncio.sleep(0.05)
            ours = deliveries / (time.perf_counter() - started)
        finally:
            await conn.close()
        ceiling = await _bare_httpx(url, str(endpoint["secret"]), deliveries)
    finally:
        receiver.stop()
    return {"deliveries": deliveries, "ours_per_s": ours, "bare_httpx_per_s": ceiling,
            "in_flight": IN_FLIGHT}  # fmt: skip


async def _bare_httpx(url: str, secret: str, count: int) -> float:
    """The same signed posts with httpx alone: sign, post, read the answer; IN_FLIGHT at once."""
    webhook = Webhook(secret)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                invoice, message = _invoice(n)
                envelope = {"id": str(uuid.uuid4()), "type": ISSUED, "subject": invoice,
                            "data": json_format.MessageToDict(message)}  # fmt: skip
                body = json.dumps(envelope, separators=(",", ":")).encode()
                now = dt.datetime.now(dt.UTC)
                message_id = str(uuid.uuid4())
                headers = {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                           "webhook-signature": webhook.sign(message_id, now, body),
                           "content-type": "application/json"}  # fmt: skip
                answer = await client.post(url, content=body, headers=headers)
                answer.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return count / (time.perf_counter() - started)


async def run(
    platform: Platform, js: JetStreamContext, *, runs: int, seconds: float, deliveries: int
) -> dict[str, Any]:
    return {
        "inbound": await inbound(platform, runs, seconds),
        "outbound": await outbound(platform, js, deliveries),
    }


def report(c: dict[str, Any]) -> list[str]:
    """Lines for the bench table."""
    inbound_, outbound_ = c["inbound"], c["outbound"]
    ours, bare = inbound_["ours"], inbound_["bare_starlette"]
    fixed = inbound_["fixed_rate"]
    return [
        f"connect inbound receipts/s (c={inbound_['concurrency']}): {ours['rate']:.0f}"
        f" (p50 {ours['p50_ms']:.1f} ms, p99 {ours['p99_ms']:.1f} ms) vs bare Starlette"
        f" {bare['rate']:.0f}: {ours['rate'] / bare['rate']:.2f} of the ceiling",
        f"connect acknowledgement at {fixed['rate']:.0f} receipts/s: p50 {fixed['p50']:.1f} ms,"
        f" p99 {fixed['p99']:.1f} ms, max {fixed['max']:.1f} ms ({fixed['failures']} failed)",
        f"connect outbound deliveries/s: {outbound_['ours_per_s']:.0f} vs bare httpx"
        f" {outbound_['bare_httpx_per_s']:.0f}:"
        f" {outbound_['ours_per_s'] / outbound_['bare_httpx_per_s']:.2f} of the ceiling",
    ]
