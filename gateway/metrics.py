"""GraphQL metrics: operation latency by type and result, errors by type and code; /metrics.

Operation names are the client's to choose (unbounded), so they are not labels; the error
code is the `extensions.code` a client sees (a small fixed set, gateway/errors.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from gateway.errors import GatewayError
from mesh.metrics import new_registry


class GraphQLMetrics:
    """The gateway's registry: the process collectors and the GraphQL operation metrics."""

    def __init__(self) -> None:
        self.registry = new_registry()
        self.operation_seconds = Histogram(
            "weftwork_graphql_operation_seconds",
            "Seconds from receiving a GraphQL operation to its result (parse, validate, execute).",
            ("operation_type", "result"),
            registry=self.registry,
        )
        self.errors = Counter(
            "weftwork_graphql_errors_total",
            "Errors in GraphQL results, by the extensions.code the client sees.",
            ("operation_type", "code"),
            registry=self.registry,
        )

    def extension(self) -> SchemaExtension:
        """A fresh extension for one operation (strawberry calls this factory per operation)."""
        return OperationMetrics(self)

    async def endpoint(self, _: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def error_code(error: GraphQLError) -> str:
    """The code the client sees (gateway/masking.py), masked or not."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    original = error.original_error
    if isinstance(original, GatewayError):
        return original.code
    return "GRAPHQL_VALIDATION_FAILED" if original is None else "INTERNAL_SERVER_ERROR"


class OperationMetrics(SchemaExtension):
    def __init__(self, metrics: GraphQLMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            operation_type = context.operation_type.value
        except Exception:  # no parsable document, or no operation of the given name
            operation_type = "unknown"
        errors = list(context.pre_execution_errors or [])
        if context.result is not None and not errors:
            errors = list(context.result.errors or [])
        result = "error" if errors else "success"
        self.metrics.operation_seconds.labels(operation_type, result).observe(
            time.perf_counter() - started
        )
        for error in errors:
            self.metrics.errors.labels(operation_type, error_code(error)).inc()
