"""Outbound webhooks: invoice.issued events published on BILLING as billing's relay does, fanned
out by connect's consumer, signed and delivered to a receiver process; against bare httpx
posting the same signed bodies to the same receiver, in the same run.

    .venv/bin/python -m bench.connect_outbound [--deliveries 5000]   # this section alone
    .venv/bin/python -m bench.connect_outbound receiver PORT          # the receiver server

Deliveries/s counts from the first publish to the last DELIVERED row, so it includes the
fan-out (consumer, inbox, one row per delivery) as well as the sending. The events belong to
500 engagements, so each engagement's deliveries form an ordered chain of ten. The ceiling
keeps as many requests in flight as connect's delivery lanes x batch (2 x 32), signing each
body with the same library.
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
import httpx
import uvicorn
from google.protobuf import json_format
from nats.js import JetStreamContext
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import report
from bench.processes import Child, spawn
from bench.stack import Platform
from devstack.process import reserve_port
from mesh.events.cloudevents import event_headers
from mesh.grpc.client import open_channel
from mesh.grpc.convert import date_to_proto, money_to_proto
from mesh.money import Money
from weftwork.billing.v1 import events_pb2 as billing
from weftwork.connect.v1 import connect_service_pb2 as pb
from weftwork.connect.v1 import connect_service_pb2_grpc as pb_grpc

ISSUED = "weftwork.billing.invoice.issued.v1"
ENGAGEMENTS = 500
IN_FLIGHT = 64  # connect's default delivery lanes (2) x batch (32)


def serve_receiver(port: int) -> None:
    async def receive(request: Request) -> Response:
        await request.body()
        return Response(b"", status_code=200)

    app = Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_config=None, access_log=False)  # fmt: skip


def invoice_issued(n: int) -> tuple[str, billing.InvoiceIssued]:
    engagement = str(uuid.UUID(int=n % ENGAGEMENTS + 1))
    invoice = str(uuid.uuid4())
    total = money_to_proto(Money.of("1200.00", "USD"))
    return invoice, billing.InvoiceIssued(
        invoice_id=invoice, version=2, number=f"US01-2026-{n:06d}", engagement_id=engagement,
        customer_id=str(uuid.UUID(int=1)), legal_entity="US01", currency="USD",
        issue_date=date_to_proto(dt.date(2026, 3, 31)), subtotal=total, total=total,
    )  # fmt: skip


async def publish(js: JetStreamContext, count: int) -> None:
    pending = []
    for n in range(count):
        invoice, message = invoice_issued(n)
        headers = event_headers(event_id=uuid.uuid4(), service="billing", subject=ISSUED,
                                aggregate_id=invoice, aggregate_version=2)  # fmt: skip
        pending.append(await js.publish_async(ISSUED, message.SerializeToString(), headers=headers))
        if len(pending) >= 500:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)


async def bare_httpx(url: str, secret: str, count: int) -> float:
    """The same signed posts with httpx alone, IN_FLIGHT at once; posts per second."""
    webhook, queue = Webhook(secret), iter(range(count))
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:

        async def worker() -> None:
            while (n := next(queue, None)) is not None:
                invoice, message = invoice_issued(n)
                now, message_id = dt.datetime.now(dt.UTC), str(uuid.uuid4())
                body = json.dumps(
                    {"id": message_id, "type": ISSUED, "time": now.isoformat(), "subject": invoice,
                     "engagementId": message.engagement_id,
                     "data": json_format.MessageToDict(message)},
                    separators=(",", ":"),
                ).encode()  # fmt: skip
                headers = {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                           "webhook-signature": webhook.sign(message_id, now, body),
                           "content-type": "application/json"}  # fmt: skip
                (await client.post(url, content=body, headers=headers)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return count / (time.perf_counter() - started)


async def run(platform: Platform, js: JetStreamContext, deliveries: int) -> dict[str, Any]:
    receiver = await _receiver(platform)
    try:
        url = f"http://127.0.0.1:{receiver.name.split(':')[1]}/bench"
        async with open_channel(platform.target("connect"), deadline_seconds=30) as channel:
            created = await pb_grpc.ConnectServiceStub(channel).CreateWebhookEndpoint(
                pb.CreateWebhookEndpointRequest(url=url, event_types=[ISSUED])
            )
        endpoint_id = uuid.UUID(created.endpoint.id)
        cpu_before = platform.cpu_seconds()
        conn = await asyncpg.connect(platform.service_dsn("connect"))
        try:
            started = time.perf_counter()
            await publish(js, deliveries)
            while (done := await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE target_id = $1 AND status = 'DELIVERED'",
                endpoint_id,
            )) < deliveries:  # fmt: skip
                platform.check_alive()
                if time.perf_counter() - started > 600:
                    raise RuntimeError(f"{done} of {deliveries} delivered after 600 s")
                await asyncio.sleep(0.05)
            ours = deliveries / (time.perf_counter() - started)
        finally:
            await conn.close()
        cpu = {name: round((used - cpu_before.get(name, 0.0)) * 1000 / deliveries, 3)
               for name, used in platform.cpu_seconds().items()}  # fmt: skip
        ceiling = await bare_httpx(url, created.secret, deliveries)
    finally:
        receiver.stop()
    return {"deliveries": deliveries, "per_s": ours, "bare_httpx_per_s": ceiling,
            "in_flight": IN_FLIGHT, "cpu_ms_per_delivery": cpu}  # fmt: skip


async def _receiver(platform: Platform) -> Child:
    # The reservation only keeps the port from anyone else until the receiver binds it.
    with reserve_port() as reservation:
        port = int(reservation.getsockname()[1])
        return await _spawn_receiver(platform, port)


async def _spawn_receiver(platform: Platform, port: int) -> Child:
    child = spawn(f"receiver:{port}",
                  [sys.executable, "-m", "bench.connect_outbound", "receiver", str(port)],
                  platform.data_dir / "receiver.log", {})  # fmt: skip
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


def rows(t: report.Table, results: dict[str, Any] | None) -> None:
    """The section of the report table (absent when the run had no connect)."""
    if not results:
        return
    t.section("Outbound webhooks: BILLING events -> fan-out -> signed POST, 2xx (connect);"
              " ceiling: bare httpx posting the same")  # fmt: skip
    t.row(f"deliveries/s ({results['deliveries']:,}, {ENGAGEMENTS} ordered chains)",
          report.n(results["per_s"]), ceiling=report.n(results["bare_httpx_per_s"]),
          ratio=report.ratio(results["per_s"], results["bare_httpx_per_s"]),
          target="≥ 0.30 of the ceiling")  # fmt: skip


def main() -> None:
    if sys.argv[1:2] == ["receiver"]:
        serve_receiver(int(sys.argv[2]))
        return
    import shutil
    import tempfile

    import uvloop

    from bench.stack import running_platform
    from mesh.events.nats import NatsConnection

    parser = argparse.ArgumentParser(prog="python -m bench.connect_outbound")
    parser.add_argument("--deliveries", type=int, default=5000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-bench-outbound-"))

    async def measure() -> dict[str, Any]:
        async with (
            running_platform(data_dir) as platform,
            NatsConnection(platform.nats_url, name="bench-outbound") as nats,
        ):
            await nats.wait_connected(10)
            return await run(platform, nats.jetstream, args.deliveries)

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
