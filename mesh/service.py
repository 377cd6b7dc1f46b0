"""The one composition of a service process: settings, logs, database, NATS, relay, gRPC.

A service's main.py describes itself with a ServiceSpec (its gRPC bindings and the consumers
of other domains' streams it runs); everything cross-cutting (migrate on start, outbox relay,
stream provisioning, consumers, downstream channels, health, graceful drain) lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc
import uvloop

from mesh.audit.service import FULL_NAME as AUDIT
from mesh.audit.service import AuditServicer
from mesh.db import create_pool
from mesh.events.consumer import EventConsumer
from mesh.events.handlers import EventHandlers
from mesh.events.integration import FULL_NAME as INTEGRATION
from mesh.events.integration import IntegrationServicer
from mesh.events.lineage import FULL_NAME as LINEAGE
from mesh.events.lineage import LineageServicer
from mesh.events.nats import NatsConnection, nats_tls
from mesh.events.relay import OutboxRelay
from mesh.events.streams import MIN_DUPLICATE_WINDOW, ensure_stream, stream_name
from mesh.grpc.callers import Callers, callers_of
from mesh.grpc.client import open_channel
from mesh.grpc.server import BackgroundTask, GrpcServer, ServiceBinding
from mesh.logging import configure_logging
from mesh.metrics import ServiceMetrics, open_endpoint
from mesh.migrations import migrate, service_components
from mesh.retention import Pruner
from mesh.retry import backoff_delay
from mesh.settings import GATEWAY, OPS, Settings, load_settings
from mesh.telemetry import configure_tracing
from weftwork.mesh.v1 import (
    audit_service_pb2_grpc,
    integration_service_pb2_grpc,
    lineage_service_pb2_grpc,
)

log = logging.getLogger(__name__)

# The kit's services on every server: the timeline, the audit trail and integration status,
# for the gateway and operators.
KIT_CALLERS = {
    **callers_of(LINEAGE, {"ListEngagementEvents": {GATEWAY, OPS}}),
    **callers_of(AUDIT, {"ListAuditEntries": {GATEWAY, OPS}}),
    **callers_of(
        INTEGRATION,
        {
            method: {GATEWAY, OPS}
            for method in (
                "GetIntegrationStatus",
                "ListDeadLetters",
                "ReplayDeadLetters",
                "DiscardDeadLetters",
            )
        },
    ),
}


@dataclass
class ServiceContext:
    settings: Settings
    pool: asyncpg.Pool
    nats: NatsConnection
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    metrics_port: int | None = None  # where /metrics is served (None: not served)
    name: str = ""  # the service's identity (its certificate, when TLS is on)

    def channel(self, service: str) -> grpc.aio.Channel:
        """One channel per downstream service, every call on it with the default deadline;
        mutual TLS with this service's certificate when TLS is configured."""
        if service not in self.channels:
            self.channels[service] = open_channel(
                self.settings.grpc_target(service),
                deadline_seconds=self.settings.grpc_deadline_seconds,
                tls=self.settings.tls_identity(self.name),
                server_name=service,
            )
        return self.channels[service]

    def consumer(self, stream_domain: str, handlers: EventHandlers, *, name: str) -> EventConsumer:
        """A durable consumer of another domain's stream, bounded by the settings."""
        return EventConsumer(
            self.pool,
            self.nats,
            name=name,
            stream=stream_name(stream_domain),
            handlers=handlers,
            max_deliver=self.settings.max_deliver,
            ack_wait=self.settings.ack_wait_seconds,
            metrics=self.metrics,
        )


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # "customer": its database, its stream (CUSTOMER), its gRPC port
    directory: Path  # the service package; migrations/ lives in it
    bindings: Callable[[ServiceContext], Sequence[ServiceBinding]]
    consumers: Callable[[ServiceContext], Sequence[EventConsumer]] = field(default=lambda ctx: ())
    # Who may call each method of its API (mesh.grpc.callers.callers_of), enforced when gRPC
    # runs over mutual TLS; None refuses every call to the API under TLS (and is logged).
    callers: Callers | None = None
    # Any other loop the service runs until shutdown (connect's receipt worker), like consumers.
    workers: Callable[[ServiceContext], Sequence[BackgroundTask]] = field(default=lambda ctx: ())
    # Database connections: each consumer's dead-letter replayer, the relay and every worker's
    # wakeup hold one LISTEN connection for good; a service with many of them needs more.
    pool_max_size: int = 10


@contextlib.asynccontextmanager
async def running_service(
    spec: ServiceSpec, settings: Settings, *, port: int | None = None
) -> AsyncIterator[tuple[GrpcServer, ServiceContext]]:
    """Starts the service in this event loop (tests use port=0); stops it gracefully on exit."""
    pool = await create_pool(settings.database_url_for(spec.name), max_size=spec.pool_max_size)
    async with pool.acquire() as conn:
        await migrate(conn, service_components(spec.name, spec.directory))
    tls = settings.tls_identity(spec.name)
    nats = NatsConnection(settings.nats_url, name=f"weftwork-{spec.name}", tls=nats_tls(tls))
    nats.start()
    ctx = ServiceContext(settings, pool, nats, name=spec.name)
    relay = OutboxRelay(pool, nats, metrics=ctx.metrics)
    pruner = Pruner(
        pool, settings.retention, metrics=ctx.metrics, duplicate_window=MIN_DUPLICATE_WINDOW
    )

    async def provision_then_relay(stop: asyncio.Event) -> None:
        # The stream must exist before the first publish; NATS may come up after us, or blip.
        attempt = 0
        while not stop.is_set():
            await relay.refresh_backlog()  # the backlog gauge moves even while NATS is away
            if not await nats.wait_connected(1.0):
                continue
            try:
                await ensure_stream(nats.jetstream, spec.name, replicas=settings.stream_replicas)
            except Exception as exc:
                attempt += 1
                log.warning("cannot provision stream yet", extra={"error": repr(exc)})
                await asyncio.sleep(backoff_delay(attempt, cap=10.0))
                continue
            await relay.run(stop)

    bind_port = settings.grpc_ports[spec.name] if port is None else port
    # A test's port=0 binds any free port: so does its health port, when it has one.
    health_port = settings.health_ports.get(spec.name)
    if port == 0 and health_port is not None:
        health_port = 0
    if tls is not None and spec.callers is None:
        log.error("no callers declared (ServiceSpec.callers): every call to the API is refused")
    # Every service serves the kit's lineage, audit trail and integration status next to its API.
    kit = [
        ServiceBinding(
            AUDIT,
            audit_service_pb2_grpc.add_AuditServiceServicer_to_server,
            AuditServicer(pool, spec.name),
        ),
        ServiceBinding(
            LINEAGE,
            lineage_service_pb2_grpc.add_LineageServiceServicer_to_server,
            LineageServicer(pool),
        ),
        ServiceBinding(
            INTEGRATION,
            integration_service_pb2_grpc.add_IntegrationServiceServicer_to_server,
            IntegrationServicer(pool, spec.name),
        ),
    ]
    server = GrpcServer(
        [*spec.bindings(ctx), *kit],
        address=f"{settings.host}:{bind_port}",
        grace_seconds=settings.shutdown_grace_seconds,
        background=[
            provision_then_relay,
            *(c.run for c in spec.consumers(ctx)),
            *spec.workers(ctx),
            pruner.run,  # retention: old published outbox rows, inbox rows, idempotency keys
        ],
        metrics=ctx.metrics,
        tls=tls,
        callers={**KIT_CALLERS, **(spec.callers or {})},
        health_address=None if health_port is None else f"{settings.host}:{health_port}",
    )
    endpoint = open_endpoint(ctx.metrics.registry, settings.host, settings.metrics_ports[spec.name])
    ctx.metrics_port = None if endpoint is None else endpoint.port
    try:
        yield server, ctx
    finally:
        if endpoint is not None:
            await asyncio.to_thread(endpoint.close)
        for channel in ctx.channels.values():
            await channel.close()
        await nats.close()
        await pool.close()


async def _serve(spec: ServiceSpec, settings: Settings) -> None:
    async with running_service(spec, settings) as (server, _):
        await server.run_until_signalled()
    log.info("stopped")


def run(spec: ServiceSpec) -> None:
    """Entry point of `weftwork serve <name>`: one service, one process, until SIGTERM."""
    settings = load_settings()
    configure_logging(spec.name, settings.log_level)
    configure_tracing(spec.name)
    uvloop.run(_serve(spec, settings))
