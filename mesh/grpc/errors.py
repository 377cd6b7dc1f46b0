"""The one mapping from domain errors to gRPC status (with google.rpc.BadRequest details)."""

from __future__ import annotations

import logging
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
from mesh.grpc.unary import Behavior, UnaryInterceptor

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


class ErrorMappingInterceptor(UnaryInterceptor):
    """Turns DomainError into its status; never lets a user mistake surface as UNKNOWN."""

    def wrap(self, inner: Behavior, method: str) -> Behavior:
        return _guard(inner, method)
