"""`weftwork status`: is each part of the running stack reachable and healthy, how far behind is
each consumer, and how many dead letters wait in each service's database?"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import grpc
import nats
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client

from devstack.certs import existing_identity
from mesh.grpc.client import open_channel
from mesh.settings import OPS, SERVICES, Settings, TlsFiles

HEALTHY = frozenset({"SERVING", "UP"})
CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class PartStatus:
    part: str
    address: str
    state: str

    @property
    def down(self) -> bool:
        return self.state not in HEALTHY


async def grpc_health(
    target: str, tls: TlsFiles | None = None, server_name: str | None = None
) -> str:
    """SERVING / NOT_SERVING / … from grpc.health.v1 for the whole server, or DOWN; over
    mutual TLS with `tls` (the ops identity), the server checked to be `server_name`."""
    channel = open_channel(target, deadline_seconds=CHECK_SECONDS, tls=tls, server_name=server_name)
    async with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=""), timeout=CHECK_SECONDS
            )
        except grpc.aio.AioRpcError:
            return "DOWN"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _nats_probe(url: str) -> Client | None:
    """A one-shot client (no reconnects, errors kept quiet), or None when NATS does not answer."""

    async def quiet(_: Exception) -> None:
        """Failures are reported by the caller."""

    try:
        return await nats.connect(
            url,
            connect_timeout=CHECK_SECONDS,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0,
            error_cb=quiet,
        )
    except Exception:
        return None


async def nats_state(url: str) -> str:
    client = await _nats_probe(url)
    if client is None:
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


def ops_identity(settings: Settings) -> TlsFiles | None:
    """The certificate `weftwork status` calls services with: from the settings, else the one
    `weftwork up` made in the data dir (so status needs no TLS settings of its own)."""
    return settings.tls_identity(OPS) or existing_identity(settings.data_dir, OPS)


async def check_all(settings: Settings) -> list[PartStatus]:
    tls = ops_identity(settings)

    async def service(name: str) -> PartStatus:
        target = settings.grpc_target(name)
        return PartStatus(name, target, await grpc_health(target, tls, server_name=name))

    async def gateway() -> PartStatus:
        address = f"http://{settings.host}:{settings.gateway_port}"
        return PartStatus("gateway", address, await tcp_state(settings.host, settings.gateway_port))

    async def nats_part() -> PartStatus:
        url = settings.nats_url
        return PartStatus("NATS", redact(url), await nats_state(url))  # no password printed

    async def postgres_part() -> PartStatus:
        dsn = settings.database_url
        return PartStatus("PostgreSQL", redact(dsn), await postgres_state(dsn))

    return list(
        await asyncio.gather(
            *(service(name) for name in SERVICES), gateway(), nats_part(), postgres_part()
        )
    )


@dataclass(frozen=True)
class ConsumerLag:
    """A durable consumer's backlog, from JetStream's consumer info."""

    stream: str
    consumer: str
    pending: int  # in the stream, not yet delivered
    ack_pending: int  # delivered, not yet acknowledged

    @property
    def lag(self) -> int:
        return self.pending + self.ack_pending


@dataclass(frozen=True)
class DeadLetterCount:
    """Open dead letters in one service's database (state says why there are no figures)."""

    service: str
    pending: int = 0
    replay_requested: int = 0
    state: str = "UP"


async def consumer_lags(url: str) -> list[ConsumerLag] | None:
    """Every durable consumer of every stream, or None when NATS cannot be asked."""
    client = await _nats_probe(url)
    if client is None:
        return None
    try:
        async with asyncio.timeout(CHECK_SECONDS * 2):
            js = client.jetstream()
            lags = [
                ConsumerLag(
                    stream.config.name or "",
                    info.name,
                    info.num_pending or 0,
                    info.num_ack_pending or 0,
                )
                for stream in await js.streams_info()
                for info in await js.consumers_info(stream.config.name or "")
            ]
    except Exception:
        return None
    finally:
        await client.close()
    return sorted(lags, key=lambda c: (c.stream, c.consumer))


async def dead_letter_count(settings: Settings, service: str) -> DeadLetterCount:
    try:
        conn = await asyncpg.connect(settings.database_url_for(service), timeout=CHECK_SECONDS)
    except asyncpg.InvalidCatalogNameError:
        return DeadLetterCount(service, state="no database")
    except Exception:
        return DeadLetterCount(service, state="DOWN")
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,"
            " count(*) FILTER (WHERE status = 'replay_requested') AS replay_requested"
            " FROM dead_letters"
        )
    except asyncpg.UndefinedTableError:
        return DeadLetterCount(service, state="not migrated")
    finally:
        await conn.close()
    assert row is not None
    return DeadLetterCount(service, row["pending"], row["replay_requested"])


@dataclass(frozen=True)
class StackStatus:
    parts: list[PartStatus]
    consumers: list[ConsumerLag] | None  # None: NATS could not be asked
    dead_letters: list[DeadLetterCount]

    @property
    def down(self) -> bool:
        return any(part.down for part in self.parts)


async def check_stack(settings: Settings, services: Sequence[str] | None = None) -> StackStatus:
    """Health, consumer lag and dead letters of the services in this tree, all at once."""
    services = SERVICES if services is None else services
    parts, consumers, dead_letters = await asyncio.gather(
        check_all(settings),
        consumer_lags(settings.nats_url),
        asyncio.gather(*(dead_letter_count(settings, service) for service in services)),
    )
    return StackStatus(parts, consumers, list(dead_letters))


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


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], numbers: range) -> list[str]:
    """Aligned columns: text to the left, the `numbers` columns to the right."""
    cells = [list(header), *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return [
        "  ".join(
            cell.rjust(w) if i in numbers else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


def render_stack(status: StackStatus) -> str:
    lines = [render(status.parts), ""]
    if status.consumers is None:
        lines.append("consumers: unknown (NATS cannot be asked)")
    elif not status.consumers:
        lines.append("consumers: none declared yet")
    else:
        rows = [(c.consumer, c.stream, c.pending, c.ack_pending, c.lag) for c in status.consumers]
        lines += _table(("consumer", "stream", "pending", "ack pending", "lag"), rows, range(2, 5))
    lines.append("")
    letters = [
        (d.service, d.pending, d.replay_requested, "")
        if d.state == "UP"
        else (d.service, "-", "-", d.state)
        for d in status.dead_letters
    ]
    header = ("service", "dead letters", "replay requested", "database")
    lines += _table(header, letters, range(1, 3))
    return "\n".join(lines)
