"""gRPC stubs of the four services, shared by all requests, with a per-method call counter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from gateway.cache import CALLED
from mesh.grpc.client import open_channel
from mesh.grpc.tls import channel_credentials
from mesh.settings import GATEWAY, Settings
from weftwork.billing.v1 import billing_service_pb2_grpc
from weftwork.connect.v1 import connect_service_pb2_grpc
from weftwork.customer.v1 import customer_service_pb2_grpc
from weftwork.mesh.v1 import (
    audit_service_pb2_grpc,
    integration_service_pb2_grpc,
    lineage_service_pb2_grpc,
)
from weftwork.project.v1 import project_service_pb2_grpc
from weftwork.revenue.v1 import revenue_service_pb2_grpc


class CallCounter(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Counts calls per full method name: the evidence that lists are batched, not N+1; and
    notes each in the current read's CALLED (the response cache's, gateway/cache.py)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Awaitable[Any]], details: Any, request: Any
    ) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        self.calls[method] += 1
        called = CALLED.get()
        if called is not None:
            called.add(method)
        return await continuation(details, request)


def _plain_channel(target: str, settings: Settings) -> grpc.aio.Channel:
    tls = settings.tls_identity(GATEWAY)
    options: list[tuple[str, str | int]] = [
        ("grpc.lb_policy_name", "round_robin"),  # as open_channel: every connect replica
        ("grpc.keepalive_time_ms", 30_000),
    ]
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options)
    options.append(("grpc.ssl_target_name_override", "connect"))
    return grpc.aio.secure_channel(target, channel_credentials(tls), options=options)


class ServiceClients:
    def __init__(self, settings: Settings) -> None:
        self.counter = CallCounter()
        self._channels = {
            name: open_channel(
                settings.grpc_target(name),
                deadline_seconds=settings.grpc_deadline_seconds,
                interceptors=[self.counter],
                tls=settings.tls_identity(GATEWAY),  # mutual TLS when configured
                server_name=name,
            )
            for name in ("customer", "project", "billing", "revenue")
        }
        self.customer = customer_service_pb2_grpc.CustomerServiceStub(self._channels["customer"])
        self.project = project_service_pb2_grpc.ProjectServiceStub(self._channels["project"])
        self.billing = billing_service_pb2_grpc.BillingServiceStub(self._channels["billing"])
        self.revenue = revenue_service_pb2_grpc.RevenueServiceStub(self._channels["revenue"])
        # Every service serves the kit's lineage and integration services next to its own.
        self.lineage = {
            name: lineage_service_pb2_grpc.LineageServiceStub(channel)
            for name, channel in self._channels.items()
        }
        self.integration = {
            name: integration_service_pb2_grpc.IntegrationServiceStub(channel)
            for name, channel in self._channels.items()
        }
        # Connect (webhooks, DESIGN.md §7) keeps no lineage of the domain's records, but its
        # outbox and dead letters are part of integrationStatus like everyone's.
        self._channels["connect"] = open_channel(
            settings.grpc_target("connect"),
            deadline_seconds=settings.grpc_deadline_seconds,
            interceptors=[self.counter],
            tls=settings.tls_identity(GATEWAY),
            server_name="connect",
        )
        self.connect = connect_service_pb2_grpc.ConnectServiceStub(self._channels["connect"])
        self.integration["connect"] = integration_service_pb2_grpc.IntegrationServiceStub(
            self._channels["connect"]
        )
        # The audit trail is every service's, connect's included (auditLog needs all five).
        self.audit = {
            name: audit_service_pb2_grpc.AuditServiceStub(channel)
            for name, channel in self._channels.items()
        }
        # Webhook intake (gateway/hooks.py) on a channel of its own without interceptors: no
        # span, counter or deadline wrapper per call (each call sets its deadline itself).
        self._channels["hooks"] = _plain_channel(settings.grpc_target("connect"), settings)
        self.hooks = connect_service_pb2_grpc.ConnectServiceStub(self._channels["hooks"])

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
