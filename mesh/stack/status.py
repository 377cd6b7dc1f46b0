"""`weftwork status`: is each part of the running stack reachable and healthy?"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg
import grpc
import nats
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.settings import SERVICES, Settings
from mesh.stack.entrypoints import find_entrypoint, gateway_present

HEALTHY = frozenset({"SERVING", "UP"})
ABSENT = "absent"  # not in this tree, so not expected to run
CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class PartStatus:
    part: str
    address: str
    state: str

    @property
    def down(self) -> bool:
        return self.state not in HEALTHY and self.state != ABSENT


async def grpc_health(target: str) -> str:
    """SERVING / NOT_SERVING / … from grpc.health.v1 for the whole server, or DOWN."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=""), timeout=CHECK_SECONDS
            )
        except grpc.aio.AioRpcError:
            return "DOWN"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def nats_state(url: str) -> str:
    async def quiet(_: Exception) -> None:
        """Failures are reported as DOWN."""

    try:
        client = await nats.connect(
            url,
            connect_timeout=CHECK_SECONDS,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0,
            error_cb=quiet,
        )
    except Exception:
        return "DOWN"
    try:
        await asyncio.wait_for(client.jetstream().account_info(), CHECK_SECONDS)
    except Exception:
        return "NO JETSTREAM"
    finally:
        await client.close()
    return "UP"


async def postgres_state(dsn: str) -> str:
    try:
        conn = await asyncpg.connect(dsn, timeout=CHECK_SECONDS)
    except Exception:
        return "DOWN"
    await conn.close()
    return "UP"


async def tcp_state(host: str, port: int) -> str:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CHECK_SECONDS)
    except (OSError, TimeoutError):
        return "DOWN"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return "UP"


async def check_all(settings: Settings) -> list[PartStatus]:
    async def service(name: str) -> PartStatus:
        target = settings.grpc_target(name)
        if find_entrypoint(name) is None:
            return PartStatus(name, target, ABSENT)
        return PartStatus(name, target, await grpc_health(target))

    async def gateway() -> PartStatus:
        address = f"http://{settings.host}:{settings.gateway_port}"
        if not gateway_present():
            return PartStatus("gateway", address, ABSENT)
        return PartStatus("gateway", address, await tcp_state(settings.host, settings.gateway_port))

    async def nats_part() -> PartStatus:
        return PartStatus("NATS", settings.nats_url, await nats_state(settings.nats_url))

    async def postgres_part() -> PartStatus:
        dsn = settings.database_url
        return PartStatus("PostgreSQL", redact(dsn), await postgres_state(dsn))

    return list(
        await asyncio.gather(
            *(service(name) for name in SERVICES), gateway(), nats_part(), postgres_part()
        )
    )


def redact(url: str) -> str:
    """The URL without its password, fit to print."""
    scheme, sep, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    credentials, at, host = authority.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{credentials}{at}{host}{slash}{tail}"


def render(rows: list[PartStatus]) -> str:
    width = max(len(r.part) for r in rows)
    return "\n".join(f"{r.part:<{width}}  {r.state:<12}  {r.address}" for r in rows)
