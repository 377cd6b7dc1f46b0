"""gRPC client channels whose every call carries a deadline and the actor it acts for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from mesh.grpc.actor import ForwardActor
from mesh.grpc.tls import channel_credentials
from mesh.settings import TlsFiles


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
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.enable_retries", 1),
    ]
    if tls is None:
        return grpc.aio.insecure_channel(target, interceptors=chain, options=options)
    if server_name is not None:
        options.append(("grpc.ssl_target_name_override", server_name))
    return grpc.aio.secure_channel(
        target, channel_credentials(tls), interceptors=chain, options=options
    )
