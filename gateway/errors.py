"""The one mapping to GraphQL errors: every error a client sees carries `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mesh.grpc.errors import field_violations

T = TypeVar("T")
log = logging.getLogger(__name__)


class GatewayError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions = {"code": self.code, **extensions}


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class Conflict(GatewayError):
    code = "CONFLICT"


class Unavailable(GatewayError):
    code = "UNAVAILABLE"


class CostLimitExceeded(GatewayError):
    """The operation may return more nodes than one request is allowed (gateway/cost.py)."""

    code = "COST_LIMIT_EXCEEDED"


class RateLimited(GatewayError):
    """The caller spent its cost budget for now; HTTP 429 with Retry-After."""

    code = "RATE_LIMITED"


_BY_STATUS: dict[grpc.StatusCode, type[GatewayError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: BadUserInput,
    grpc.StatusCode.OUT_OF_RANGE: BadUserInput,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.ABORTED: Conflict,
    grpc.StatusCode.PERMISSION_DENIED: Forbidden,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Unavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Unavailable,
}


def error_reason(error: grpc.aio.AioRpcError) -> str | None:
    """The `reason` of a google.rpc.ErrorInfo the server attached (e.g. IDEMPOTENCY_KEY_REUSED)."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # details that contradict the call's own status: ignore them
        return None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.reason:
                return str(info.reason)
    return None


def from_rpc_error(error: grpc.aio.AioRpcError, service: str) -> GatewayError:
    kind = _BY_STATUS.get(error.code())
    if kind is None:
        log.error("%s failed: %s %s", service, error.code(), error.details())
        return GatewayError("internal error")
    if kind is Unavailable:
        return Unavailable(f"the {service} service is unavailable; retry later")
    reason = error_reason(error)
    extra = {"reason": reason} if reason else {}
    if kind is BadUserInput:
        violations = [
            {"field": v.field, "description": v.description} for v in field_violations(error)
        ]
        return BadUserInput(error.details() or "invalid input", fieldViolations=violations, **extra)
    return kind(error.details() or kind.code.lower(), **extra)


async def call(service: str, pending: Awaitable[T]) -> T:
    """Await a gRPC call, turning its failure into the GraphQL error the client should see."""
    try:
        return await pending
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error, service) from None
