"""The one mapping from domain errors to gRPC status (with google.rpc.BadRequest details)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

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


# Infrastructure failures that a retry may cure: UNAVAILABLE, not INTERNAL. PostgreSQL
# starting up (57P03) or shutting down (57P01, 57P02) answers with a server error rather than
# dropping the connection, and a full connection table (53300) clears as sessions end.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; asyncio's TimeoutError (a pool acquire) too
    asyncpg.PostgresConnectionError,  # class 08, e.g. ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# asyncpg's InterfaceError is also how it reports misuse and bad query input (its DataError),
# which no retry cures: only a connection or pool that is closed, or closing, is transient
# ("connection is closed"; "cannot call Transaction.__aexit__(): the underlying connection is
# closed", when the connection broke inside a transaction; "pool is closing" at shutdown).
_CLOSED_CONNECTION = "connection is closed"
_CLOSED_POOL = ("pool is closed", "pool is closing")


def is_transient(exc: BaseException) -> bool:
    """True when the error is the database or a peer being away, so a retry may succeed."""
    if isinstance(exc, _TRANSIENT):
        return True
    if not isinstance(exc, asyncpg.InterfaceError):
        return False
    message = str(exc)
    return message.endswith(_CLOSED_CONNECTION) or message.startswith(_CLOSED_POOL)


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
