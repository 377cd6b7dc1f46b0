"""The one mapping from domain errors to gRPC status (with google.rpc.BadRequest details)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from mesh.db import is_retryable, is_transient
from mesh.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)

log = logging.getLogger(__name__)

_CODES: list[tuple[type[DomainError], int]] = [
    (InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (NotFound, code_pb2.NOT_FOUND),
    (FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (AlreadyExists, code_pb2.ALREADY_EXISTS),
    (Unavailable, code_pb2.UNAVAILABLE),
]


def to_status(exc: DomainError) -> grpc.Status:
    code = next((c for kind, c in _CODES if isinstance(exc, kind)), code_pb2.FAILED_PRECONDITION)
    status = status_pb2.Status(code=code, message=exc.message)
    if isinstance(exc, InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in exc.violations
                ]
            )
        )
        status.details.append(detail)
    return rpc_status.to_status(status)


def field_violations(error: grpc.aio.AioRpcError) -> list[FieldViolation]:
    """The BadRequest field violations a server attached to an error, for clients."""
    status = rpc_status.from_call(error)
    found: list[FieldViolation] = []
    if status is None:
        return found
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
    return found


Behavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def _guard(inner: Behavior, method: str) -> Behavior:
    async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await inner(request, context)
        except DomainError as exc:
            await context.abort_with_status(to_status(exc))
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError) or type(exc).__name__ == "AbortError":
                raise
            if is_transient(exc):
                log.warning("dependency unavailable", extra={"method": method}, exc_info=True)
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE, "a dependency is unavailable; retry"
                )
                return
            if is_retryable(exc):  # still conflicting after in_transaction's own reruns
                log.warning("transaction conflict", extra={"method": method, "error": repr(exc)})
                await context.abort(
                    grpc.StatusCode.ABORTED, "conflicting concurrent changes; retry"
                )
                return
            log.exception("unhandled error", extra={"method": method})
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")

    return behavior


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Turns DomainError into its status; never lets a user mistake surface as UNKNOWN."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _guard(handler.unary_unary, details.method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
