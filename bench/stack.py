"""The platform under test, started for the benchmark alone and always stopped afterwards.

Embedded PostgreSQL (with `track_commit_timestamp`, so every row's commit time can be read
back; on a unix socket) and NATS (on a port it picks) in a temporary directory; the four
services and the gateway as real processes (`weftwork serve <name>`) on ports reserved for them
(devstack.process.reserve_port), each with its log file; a thread sampling RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.processes import BenchError, Child, MemorySampler, cpu_seconds, spawn
from devstack.nats import EmbeddedNats
from devstack.nats_cluster import NatsCluster
from devstack.nats_users import user_url
from devstack.postgres import EmbeddedPostgres
from devstack.process import reserve_port
from mesh.events.nats import NatsConnection
from mesh.settings import SERVICES, local_socket_dir, with_database

WEFTWORK = Path(sys.executable).parent / "weftwork"
JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123"
CONNECT_KEY = "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI="  # Fernet: base64 of 32 bytes
# Durable consumers of the platform: (stream, durable). Drained between phases.
CONSUMERS = (
    ("PROJECT", "billing-project"),
    ("PROJECT", "revenue-project"),
    ("BILLING", "revenue-billing"),
    ("CUSTOMER", "billing-customer"),
    ("CUSTOMER", "project-customer"),
    ("PROJECT", "connect-project"),
    ("BILLING", "connect-billing"),
    ("REVENUE", "connect-revenue"),
    ("CUSTOMER", "connect-customer"),
)
HEALTH_NAMES = {
    "customer": "weftwork.customer.v1.CustomerService",
    "project": "weftwork.project.v1.ProjectService",
    "billing": "weftwork.billing.v1.BillingService",
    "revenue": "weftwork.revenue.v1.RevenueService",
    "connect": "weftwork.connect.v1.ConnectService",
}


@dataclass
class Platform:
    data_dir: Path
    server_url: str  # the PostgreSQL server; each service has database weftwork_<service>
    nats_url: str  # the operator's; each process connects as its own user
    ports: dict[str, int]
    children: dict[str, Child] = field(default_factory=dict)
    memory: MemorySampler = field(default_factory=MemorySampler)
    postgres_version: str = ""
    stream_replicas: int = 1  # 3 on the durable mode's cluster
    nats_version: str = ""

    def dsn(self, database: str) -> str:
        return with_database(self.server_url, database)

    def service_dsn(self, service: str) -> str:
        return self.dsn(f"weftwork_{service}")

    def target(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def env(self, name: str) -> dict[str, str]:
        """The environment of process `name`: every port, NATS as its own user."""
        return {
            "WEFTWORK_DATA_DIR": str(self.data_dir),
            "WEFTWORK_DATABASE_URL": self.server_url,
            "WEFTWORK_NATS_URL": user_url(self.nats_url, name),
            "WEFTWORK_JWT_SECRET": JWT_SECRET,
            "WEFTWORK_CONNECT_SECRET_KEY": CONNECT_KEY,
            "WEFTWORK_LOG_LEVEL": "WARNING",
            "WEFTWORK_SHUTDOWN_GRACE_SECONDS": "2",
            "WEFTWORK_STREAM_REPLICAS": str(self.stream_replicas),
            "WEFTWORK_GATEWAY_ANY_DOCUMENT": "true",  # the bench sends documents of its own
            "WEFTWORK_GATEWAY_CACHE_MB": "64",  # the response cache on (bench.cache_bench: off)
            **{f"WEFTWORK_{other.upper()}_PORT": str(port) for other, port in self.ports.items()},
            # Outbound webhooks to the bench's receiver on 127.0.0.1, which production refuses.
            "WEFTWORK_CONNECT_OUTBOUND_ALLOW_INSECURE": "true",
            # Any free port: a bench beside `weftwork up` must not lose the fixed ones.
            **{f"WEFTWORK_{service.upper()}_METRICS_PORT": "0" for service in SERVICES},
        }

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU each process has used so far (PostgreSQL: its live backends too;
        "bench": this process, the load generator), and the busy time of the whole machine
        ("machine"), which shows what other people's processes took on a shared box."""
        used = {
            name: cpu_seconds(pid, name == "postgres") for name, pid in self.memory.pids.items()
        }
        machine = psutil.cpu_times()
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return {**used, "bench": cpu_seconds(os.getpid(), False), "machine": busy}

    def check_alive(self) -> None:
        for child in self.children.values():
            child.check_alive()

    async def drained(self, nats: NatsConnection, within: float = 300.0) -> None:
        """Every outbox published and every consumer caught up (nothing pending or unacked)."""
        deadline = time.monotonic() + within
        while True:
            self.check_alive()
            waiting = await self._waiting(nats)
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"not drained after {within:.0f} s: {waiting}")
            await asyncio.sleep(0.2)

    async def _waiting(self, nats: NatsConnection) -> dict[str, int]:
        waiting: dict[str, int] = {}
        for stream, durable in CONSUMERS:
            info = await nats.jetstream.consumer_info(stream, durable)
            if info.num_pending or info.num_ack_pending:
                waiting[durable] = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        for service in SERVICES:
            conn = await asyncpg.connect(self.service_dsn(service))
            try:
                left = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            finally:
                await conn.close()
            if left:
                waiting[f"{service} outbox"] = int(left)
        return waiting


@contextlib.asynccontextmanager
async def running_platform(data_dir: Path, *, durable: bool = False) -> AsyncIterator[Platform]:
    """PostgreSQL, NATS, five services and the gateway; all stopped on exit, even on failure.
    `durable`: NATS is three nodes with R3 streams and sync_interval always (bench/durable.py)."""
    postgres = EmbeddedPostgres(data_dir / "postgres", local_socket_dir(data_dir))
    nats: EmbeddedNats | NatsCluster = (
        NatsCluster(data_dir / "nats", sync_always=True)
        if durable
        else EmbeddedNats(data_dir / "nats")
    )
    platform: Platform | None = None
    held = contextlib.ExitStack()  # the ports reserved for the services and the gateway
    try:
        server_url = postgres.start()
        # Commit timestamps are a server-start setting: set it, then restart once.
        conn = await asyncpg.connect(server_url)
        await conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        await conn.close()
        server_url = postgres.restart()
        reserved = {name: held.enter_context(reserve_port()) for name in (*SERVICES, "gateway")}
        platform = Platform(
            data_dir=data_dir,
            server_url=server_url,
            nats_url=nats.start(),
            ports={name: int(sock.getsockname()[1]) for name, sock in reserved.items()},
            stream_replicas=3 if durable else 1,
        )
        platform.memory.pids = {"postgres": postgres.pid or 0, **_nats_pids(nats)}
        conn = await asyncpg.connect(server_url)
        platform.postgres_version = await conn.fetchval("SHOW server_version")
        await conn.close()
        for name in (*SERVICES, "gateway"):
            child = spawn(
                name, [str(WEFTWORK), "serve", name], data_dir / f"{name}.log", platform.env(name)
            )
            platform.children[name] = child
            platform.memory.pids[name] = child.proc.pid
        await _wait_ready(platform)
        platform.memory.start()
        yield platform
    finally:
        if platform is not None:
            platform.memory.stop()
            for child in reversed(platform.children.values()):
                child.stop()
        held.close()
        nats.stop()
        postgres.stop()


def _nats_pids(nats: EmbeddedNats | NatsCluster) -> dict[str, int]:
    if isinstance(nats, NatsCluster):
        return {f"nats-{i}": node.pid or 0 for i, node in enumerate(nats.nodes)}
    return {"nats": nats.pid or 0}


async def _wait_ready(platform: Platform, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    pending = [*SERVICES, "gateway", "consumers"]
    async with NatsConnection(platform.nats_url, name="bench-ready") as nats:
        while pending:
            platform.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"not ready after {within:.0f} s: {', '.join(pending)}")
            pending = [name for name in pending if not await _ready(platform, nats, name)]
            if pending:
                await asyncio.sleep(0.25)
        version = nats.client.connected_server_version
        platform.nats_version = f"{version.major}.{version.minor}.{version.patch}"


async def _ready(platform: Platform, nats: NatsConnection, name: str) -> bool:
    try:
        if name == "gateway":
            reader, writer = await asyncio.open_connection("127.0.0.1", platform.ports["gateway"])
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            status = await asyncio.wait_for(reader.readline(), 2)
            writer.close()
            return b" 200 " in status
        if name == "consumers":
            for stream, durable in CONSUMERS:
                await nats.jetstream.consumer_info(stream, durable)
            return True
        async with grpc.aio.insecure_channel(platform.target(name)) as channel:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=HEALTH_NAMES[name]), timeout=2
            )
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
    except Exception:
        return False
