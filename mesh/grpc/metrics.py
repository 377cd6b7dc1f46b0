"""gRPC server metrics in the go-grpc-prometheus shape: started, handled by code, handling time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from mesh.grpc.unary import Behavior, UnaryInterceptor
from mesh.metrics import ServiceMetrics

_UNARY = "unary"


def _code_name(code: Any) -> str:
    """The status name (OK, INVALID_ARGUMENT, ...) of what context.code() holds."""
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    for status in grpc.StatusCode:  # grpc.aio keeps the integer of the status
        if status.value[0] == code:
            return str(status.name)
    return "UNKNOWN"


class MetricsInterceptor(UnaryInterceptor):
    """Counts and times unary RPCs (all of our APIs); streaming ones (health Watch, reflection)
    pass through uncounted."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    def wrap(self, inner: Behavior, method: str) -> Behavior:
        service, _, name = method.lstrip("/").rpartition("/")
        return self._measured(inner, service, name)

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
