"""gRPC client channels whose every call carries a deadline and the actor it acts for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from mesh.grpc.actor import ForwardActor
from mesh.grpc.tls import channel_credentials
from mesh.settings import TlsFiles

# How a channel (re)connects and notices a dead peer. gRPC's default connect timeout is 20 s
# (its min_reconnect_backoff), so a downstream that accepts but never answers kept a channel
# CONNECTING, and every call on it waiting, for that long: give up after 2 s, retry after
# 0.2 s growing to 5 s, and ping every 10 s, a peer silent for 10 s more being dropped.
CHANNEL_OPTIONS: list[tuple[str, int]] = [
    ("grpc.min_reconnect_backoff_ms", 2_000),  # also the connect timeout
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5_000),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]


class DeadlineInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Gives a call without a timeout the default one: no call waits forever."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def intercept_unary_unary(
        self,
        continuation: Callable[[Any, Any], Awaitable[Any]],
        client_call_details: Any,
        request: Any,
    ) -> Any:
        if client_call_details.timeout is None:
            client_call_details = client_call_details._replace(timeout=self.seconds)
        return await continuation(client_call_details, request)


def open_channel(
    target: str,
    *,
    deadline_seconds: float,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    tls: TlsFiles | None = None,
    server_name: str | None = None,
) -> grpc.aio.Channel:
    """A channel with a default deadline and round-robin LB; mutual TLS with `tls` (this
    process's identity), the server then checked to be `server_name` (a service's name, its
    certificate's DNS SAN) whatever address the target resolves to. Plaintext without."""
    chain = [
        *aio_client_interceptors(),  # type: ignore[no-untyped-call]
        DeadlineInterceptor(deadline_seconds),
        ForwardActor(),  # who the call acts for (mesh.grpc.actor)
        *interceptors,
    ]
    options: list[tuple[str, str | int]] = [
        ("grpc.lb_policy_name", "round_robin"),
        ("grpc.enable_retries", 1),
        *CHANNEL_OPTIONS,
    ]
    if tls is None:
        return grpc.aio.insecure_channel(target, interceptors=chain, options=options)
    if server_name is not None:
        options.append(("grpc.ssl_target_name_override", server_name))
    return grpc.aio.secure_channel(
        target, channel_credentials(tls), interceptors=chain, options=options
    )
