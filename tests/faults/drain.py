"""Draining after the faults are healed: wait, polling and bounded, until nothing is in flight:
every outbox published (IntegrationService) and every durable consumer caught up (JetStream)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
import nats

from mesh.events.streams import stream_name
from mesh.settings import SERVICES, server_urls
from tests.faults.checker import CONSUMERS
from tests.faults.cluster import Platform
from weftwork.mesh.v1 import integration_service_pb2 as pb
from weftwork.mesh.v1 import integration_service_pb2_grpc as pb_grpc


async def in_flight(platform: Platform, js: nats.js.JetStreamContext) -> list[str]:
    """What is still moving: outbox backlogs, consumers with pending or unacknowledged work."""
    busy = []
    for service in SERVICES:
        async with grpc.aio.insecure_channel(platform.main(service).target) as channel:
            try:
                status = await pb_grpc.IntegrationServiceStub(channel).GetIntegrationStatus(
                    pb.GetIntegrationStatusRequest(), timeout=5
                )
            except grpc.aio.AioRpcError as error:
                busy.append(f"{service}: {error.code().name}")
                continue
        if status.outbox_unpublished:
            busy.append(f"{service} outbox: {status.outbox_unpublished}")
    for consumer in CONSUMERS:
        try:
            info = await js.consumer_info(stream_name(consumer.producer), consumer.name)
        except Exception as exc:
            busy.append(f"{consumer.name}: {exc!r}")
            continue
        if info.num_pending or info.num_ack_pending:
            busy.append(
                f"{consumer.name}: {info.num_pending} pending, {info.num_ack_pending} unacked"
            )
    return busy


async def backlog(js: nats.js.JetStreamContext) -> int | None:
    """Events the consumers have yet to apply (the most behind one); None while NATS is away."""
    try:
        infos = [
            await js.consumer_info(stream_name(c.producer), c.name, timeout=2) for c in CONSUMERS
        ]
    except Exception:
        return None
    return max(int(i.num_pending or 0) + int(i.num_ack_pending or 0) for i in infos)


async def settle(
    platform: Platform, *, within: float = 300.0, say: Callable[[str], None] = print
) -> float:
    """Returns the seconds it took; nothing in flight twice in a row, a second apart."""
    started = time.monotonic()
    client = await nats.connect(server_urls(platform.nats_url), connect_timeout=5)  # cluster mode
    try:
        js = client.jetstream()
        quiet = 0
        busy: list[str] = []
        while quiet < 2:
            if time.monotonic() - started > within:
                raise AssertionError(f"not settled after {within:.0f}s: {busy}")
            await platform.supervise()
            busy = await in_flight(platform, js)
            if busy and int(time.monotonic() - started) % 10 == 0:
                say(f"draining: {busy}")
            quiet = 0 if busy else quiet + 1
            await asyncio.sleep(1.0)
    finally:
        await client.close()
    return time.monotonic() - started
