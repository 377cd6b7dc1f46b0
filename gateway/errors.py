"""The one mapping to GraphQL errors: every error a client sees carries `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

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


def from_rpc_error(error: grpc.aio.AioRpcError, service: str) -> GatewayError:
    kind = _BY_STATUS.get(error.code())
    if kind is None:
        log.error("%s failed: %s %s", service, error.code(), error.details())
        return GatewayError("internal error")
    if kind is Unavailable:
        return Unavailable(f"the {service} service is unavailable; retry later")
    if kind is BadUserInput:
        violations = [
            {"field": v.field, "description": v.description} for v in field_violations(error)
        ]
        return BadUserInput(error.details() or "invalid input", fieldViolations=violations)
    return kind(error.details() or kind.code.lower())


async def call(service: str, pending: Awaitable[T]) -> T:
    """Await a gRPC call, turning its failure into the GraphQL error the client should see."""
    try:
        return await pending
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error, service) from None


def _is_ours(error: GraphQLError) -> bool:
    # Validation errors (no original error) speak about the query; ours carry a code.
    return error.original_error is None or isinstance(error.original_error, GatewayError)


class MaskUnexpectedErrors(MaskErrors):
    """Anything that is not a GatewayError or a query error becomes a bare INTERNAL_SERVER_ERROR:
    no exception text or stack trace reaches a client."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda error: not _is_ours(error), error_message="internal error"
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        # The client gets nothing; the log gets everything (masking runs before logging would).
        log.error(
            "unexpected error in %s",
            ".".join(str(p) for p in error.path or ()),
            exc_info=error.original_error,
        )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


def with_codes(error: GraphQLError) -> GraphQLError:
    """Our errors' extensions onto the GraphQL error; query errors are GRAPHQL_VALIDATION_FAILED."""
    original = error.original_error
    if isinstance(original, GatewayError):
        error.extensions = {**(error.extensions or {}), **original.extensions}
    elif original is None and not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
    return error
