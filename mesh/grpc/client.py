"""gRPC client channels whose every call carries a deadline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors


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
) -> grpc.aio.Channel:
    """An insecure channel (mesh-internal traffic) with a default deadline and round-robin LB."""
    return grpc.aio.insecure_channel(
        target,
        interceptors=[
            *aio_client_interceptors(),  # type: ignore[no-untyped-call]
            DeadlineInterceptor(deadline_seconds),
            *interceptors,
        ],
        options=[
            ("grpc.lb_policy_name", "round_robin"),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.enable_retries", 1),
        ],
    )
