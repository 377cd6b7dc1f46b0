"""A grpc.aio server with health, reflection, error mapping and a graceful drain on SIGTERM.

With TLS files it serves mutual TLS only and checks every call against the callers table
(mesh.grpc.callers); a health address adds a plaintext port serving grpc.health.v1 alone,
for probes that cannot present a certificate (Kubernetes' native gRPC probes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters

from mesh.grpc.actor import ActorInterceptor
from mesh.grpc.callers import CallerAllowList, Callers, server_callers
from mesh.grpc.errors import ErrorMappingInterceptor
from mesh.grpc.metrics import MetricsInterceptor
from mesh.grpc.tls import server_credentials
from mesh.metrics import ServiceMetrics
from mesh.settings import TlsFiles

log = logging.getLogger(__name__)

# Our own APIs only: health and reflection streams are noise in traces (and the OTel wrapper
# mishandles the health servicer's Watch stream).
_TRACED = filters.service_prefix("weftwork.")
# Every connection is closed (GOAWAY) after ~5 minutes, calls in flight getting 30 s more, so
# clients re-resolve and spread onto new replicas; clients' keepalive pings (every 10 s,
# mesh.grpc.client) are allowed, with or without calls in flight.
SERVER_OPTIONS: list[tuple[str, int]] = [
    ("grpc.so_reuseport", 0),
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
]

BackgroundTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceBinding:
    full_name: str  # e.g. "weftwork.customer.v1.CustomerService"
    register: Callable[[Any, grpc.aio.Server], None]  # the generated add_…Servicer_to_server
    servicer: Any


class GrpcServer:
    """Serves the bindings; background tasks (relay, consumers) run until shutdown."""

    def __init__(
        self,
        bindings: Sequence[ServiceBinding],
        *,
        address: str,
        grace_seconds: float,
        background: Sequence[BackgroundTask] = (),
        metrics: ServiceMetrics | None = None,
        tls: TlsFiles | None = None,
        callers: Callers | None = None,
        health_address: str | None = None,
        options: Sequence[tuple[str, int]] = SERVER_OPTIONS,  # tests shorten the connection age
    ) -> None:
        self.bindings = bindings
        self.address = address
        self.grace_seconds = grace_seconds
        self.background = background
        self.tls = tls
        self.health_address = health_address
        self.health = health.aio.HealthServicer()
        # Checking callers needs their certificates: without TLS every call is allowed.
        table = {**server_callers(), **(callers or {})}
        allow_list = [] if tls is None else [CallerAllowList(table)]
        self.server = grpc.aio.server(
            # Tracing outermost, so a mapped error still ends its span with the right status;
            # metrics outside the mapping and the allow-list too, so they count the code the
            # client receives.
            interceptors=[
                aio_server_interceptor(filter_=_TRACED),  # type: ignore[no-untyped-call]
                MetricsInterceptor(ServiceMetrics() if metrics is None else metrics),
                *allow_list,
                ErrorMappingInterceptor(),
                ActorInterceptor(),  # innermost: the handler runs in the call's audit scope
            ],
            options=options,
        )
        self.health_server: grpc.aio.Server | None = None
        self.stop_background = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.port = 0
        self.health_port: int | None = None

    async def start(self) -> int:
        """Serve, mark every service SERVING and start the background tasks; returns the port."""
        for binding in self.bindings:
            binding.register(binding.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [b.full_name for b in self.bindings]
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self.server,
        )
        if self.tls is None:
            self.port = self.server.add_insecure_port(self.address)
        else:
            self.port = self.server.add_secure_port(self.address, server_credentials(self.tls))
        await self.server.start()
        if self.health_address is not None:
            self.health_server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
            health_pb2_grpc.add_HealthServicer_to_server(self.health, self.health_server)
            self.health_port = self.health_server.add_insecure_port(self.health_address)
            await self.health_server.start()
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.tasks = [asyncio.create_task(task(self.stop_background)) for task in self.background]
        log.info(
            "grpc serving",
            extra={
                "address": self.address,
                "port": self.port,
                "tls": self.tls is not None,
                "health_port": self.health_port,
                "services": names,
            },
        )
        return self.port

    async def stop(self) -> None:
        """Health first (so balancers stop sending), then drain calls, then background work."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.grace_seconds)
        if self.health_server is not None:
            await self.health_server.stop(None)
        self.stop_background.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*self.tasks, return_exceptions=True), self.grace_seconds
            )
        for task in self.tasks:
            task.cancel()

    async def run_until_signalled(self) -> None:
        """Serve until SIGTERM/SIGINT or until a background task dies (then exit to restart)."""
        await self.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        waiter = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait([waiter, *self.tasks], return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in done if t is not waiter and not t.cancelled() and t.exception()]
        for task in failed:
            log.error("background task failed", exc_info=task.exception())
        log.info("shutting down", extra={"grace_seconds": self.grace_seconds})
        waiter.cancel()
        await self.stop()
        if failed:
            raise SystemExit(1)
