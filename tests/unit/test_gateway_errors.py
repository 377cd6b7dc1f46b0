"""The one mapping from gRPC status to GraphQL codes, rich details included."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from gateway.errors import BadUserInput, Conflict, GatewayError, from_rpc_error


def rpc_error(
    code: grpc.StatusCode, message: str, *details: error_details_pb2.ErrorInfo
) -> grpc.aio.AioRpcError:
    """An error as a client sees it when the server aborted with rich status details."""
    status = status_pb2.Status(code=code.value[0], message=message)
    for detail in details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    trailing = grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString()))
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing, details=message)


@pytest.mark.parametrize("code", [grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.ABORTED])
def test_a_reused_idempotency_key_is_a_conflict_with_its_reason(code: grpc.StatusCode) -> None:
    reused = error_details_pb2.ErrorInfo(reason="IDEMPOTENCY_KEY_REUSED", domain="weftwork")
    error = from_rpc_error(rpc_error(code, "key k was used for other content", reused), "billing")
    assert isinstance(error, Conflict)
    assert error.extensions == {"code": "CONFLICT", "reason": "IDEMPOTENCY_KEY_REUSED"}
    assert str(error) == "key k was used for other content"


def test_without_error_info_there_is_no_reason() -> None:
    error = from_rpc_error(rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "wrong state"), "x")
    assert error.extensions == {"code": "CONFLICT"}


def test_a_reason_rides_along_with_field_violations() -> None:
    info = error_details_pb2.ErrorInfo(reason="AMOUNT_TOO_LARGE")
    error = from_rpc_error(rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "bad", info), "billing")
    assert isinstance(error, BadUserInput)
    assert error.extensions["reason"] == "AMOUNT_TOO_LARGE"


def test_details_that_contradict_the_status_are_ignored() -> None:
    status = status_pb2.Status(code=code_pb2.NOT_FOUND, message="x")
    trailing = grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString()))
    error = grpc.aio.AioRpcError(grpc.StatusCode.ABORTED, grpc.aio.Metadata(), trailing, "y")
    assert from_rpc_error(error, "billing").extensions == {"code": "CONFLICT"}


def test_an_unexpected_status_is_an_internal_error_without_its_text() -> None:
    error = from_rpc_error(rpc_error(grpc.StatusCode.INTERNAL, "stack trace here"), "billing")
    assert type(error) is GatewayError
    assert str(error) == "internal error"
