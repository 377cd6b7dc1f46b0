"""The customer service as a real OS process: SIGKILL between commit and publish loses nothing."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import asyncpg
import grpc

from devstack.nats import EmbeddedNats
from mesh.db import create_pool
from mesh.events.consumer import EventConsumer
from mesh.events.handlers import Event, EventHandlers
from mesh.events.nats import NatsConnection
from mesh.migrations import KIT_MIGRATIONS, migrate
from mesh.settings import with_database
from tests.conftest import Stack
from tests.e2e.processes import ServiceProcess
from tests.support import eventually, settings_for
from weftwork.customer.v1 import customer_service_pb2 as pb
from weftwork.customer.v1 import customer_service_pb2_grpc as pb_grpc
from weftwork.customer.v1 import events_pb2


async def test_sigkill_between_commit_and_publish_loses_nothing_and_doubles_nothing(
    stack: Stack, private_nats: EmbeddedNats, tmp_path: Path
) -> None:
    settings, env = settings_for(stack.database_url, private_nats.url, tmp_path)
    service = ServiceProcess("customer", env, tmp_path / "customer.log")
    db = await create_pool(settings.database_url_for("customer"))
    service.start()
    try:
        await eventually(service.serving, within=60, what="customer SERVING")
        target = service.target

        # NATS goes away: the change still commits (the outbox holds its event) ...
        private_nats.kill()
        async with grpc.aio.insecure_channel(target) as channel:
            created = await pb_grpc.CustomerServiceStub(channel).ResolveCustomer(
                pb.ResolveCustomerRequest(name="Crash Test Dummies Ltd", country="GB"), timeout=10
            )
        customer_id = created.customer.id
        pending = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL",
            customer_id,
        )
        assert pending == 1

        # ... and the service dies before it could publish.
        assert service.signal(signal.SIGKILL) == -signal.SIGKILL
        private_nats.restart()
        service.start()
        await eventually(service.serving, within=60, what="customer SERVING again")
        await eventually(
            lambda: db.fetchval(
                "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL",
                customer_id,
            ),
            until=lambda n: n == 0,
            what="the relay to publish the event after restart",
        )

        # An independent consumer applies it exactly once.
        applied = await _consume_customer_events(stack, private_nats.url, customer_id)
        assert applied == [("weftwork.customer.customer.created.v1", customer_id)]
        assert service.signal(signal.SIGTERM) == 0  # graceful stop after the drain
    finally:
        service.ensure_stopped()
        await db.close()


async def _consume_customer_events(
    stack: Stack, nats_url: str, customer_id: str
) -> list[tuple[str, str]]:
    pool = await create_pool(with_database(stack.database_url, f"t_probe_{customer_id[:8]}"))
    async with pool.acquire() as conn:
        await migrate(conn, [("mesh", KIT_MIGRATIONS)])
        await conn.execute("CREATE TABLE seen (subject text, customer_id text)")

    async def record(conn: asyncpg.Connection, event: Event[events_pb2.CustomerCreated]) -> None:
        await conn.execute(
            "INSERT INTO seen VALUES ($1, $2)", event.type, event.message.customer_id
        )

    handlers = EventHandlers()
    handlers.register("weftwork.customer.customer.created.v1", events_pb2.CustomerCreated, record)
    stop = asyncio.Event()
    async with NatsConnection(nats_url, name="probe") as nats:
        consumer = EventConsumer(pool, nats, name="probe", stream="CUSTOMER", handlers=handlers)
        running = asyncio.create_task(consumer.run(stop))
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM seen WHERE customer_id = $1", customer_id),
            what="the probe consumer to apply the event",
        )
        # Give redeliveries or a second copy every chance to show up before counting.
        info = await nats.jetstream.consumer_info("CUSTOMER", "probe")
        await eventually(
            lambda: nats.jetstream.consumer_info("CUSTOMER", "probe"),
            until=lambda i: i.num_pending == 0 and i.num_ack_pending == 0,
            what="the probe consumer to settle",
        )
        assert info.config.durable_name == "probe"
        stop.set()
        await running
    rows = await pool.fetch("SELECT subject, customer_id FROM seen")
    await pool.close()
    return [(r["subject"], r["customer_id"]) for r in rows]
