"""gRPC server metrics in the go-grpc-prometheus shape: started, handled by code, handling time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from mesh.metrics import ServiceMetrics

Behavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
_UNARY = "unary"


def _code_name(code: Any) -> str:
    """The status name (OK, INVALID_ARGUMENT, ...) of what context.code() holds."""
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    for status in grpc.StatusCode:  # grpc.aio keeps the integer of the status
        if status.value[0] == code:
            return str(status.name)
    return "UNKNOWN"


class MetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Counts and times unary RPCs (all of our APIs); streaming ones (health Watch, reflection)
    pass through uncounted."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        service, _, method = details.method.lstrip("/").rpartition("/")
        return grpc.unary_unary_rpc_method_handler(
            self._measured(handler.unary_unary, service, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _measured(self, inner: Behavior, service: str, method: str) -> Behavior:
        started_total = self.metrics.grpc_started.labels(_UNARY, service, method)
        handling = self.metrics.grpc_handling_seconds.labels(_UNARY, service, method)
        handled = self.metrics.grpc_handled

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started_total.inc()
            started = time.perf_counter()
            code = "OK"
            try:
                response = await inner(request, context)
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except BaseException:
                # An abort sets the context's code before raising; anything else is UNKNOWN.
                current = context.code()
                code = "UNKNOWN" if current is None else _code_name(current)
                raise
            else:
                current = context.code()
                code = "OK" if current is None else _code_name(current)
                return response
            finally:
                handling.observe(time.perf_counter() - started)
                handled.labels(_UNARY, service, method, code).inc()

        return behavior
