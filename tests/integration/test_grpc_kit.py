"""The gRPC bootstrap over a real socket: error mapping, default deadlines, graceful drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from mesh.grpc.client import open_channel
from mesh.grpc.server import GrpcServer, ServiceBinding
from tests.support import rpc_error

SERVICE = "test.Probe"
release = asyncio.Event()


async def behave(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    """The request names what the handler does; the reply echoes it."""
    if request == b"invalid":
        raise InvalidArgument(
            [FieldViolation("name", "is empty"), FieldViolation("country", "bad")]
        )
    if request == b"missing":
        raise NotFound("thing", "42")
    if request == b"wrong-state":
        raise FailedPrecondition("entry was rejected")
    if request == b"bug":
        raise ZeroDivisionError("secret internals")
    if request == b"slow":
        await release.wait()
    return request


def _register(_: object, server: grpc.aio.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(behave)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(SERVICE, {"Do": handler})]
    )


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    release.clear()
    running = GrpcServer(
        [ServiceBinding(SERVICE, _register, None)], address="127.0.0.1:0", grace_seconds=5
    )
    await running.start()
    yield running
    release.set()
    await running.stop()


def call(channel: grpc.aio.Channel, payload: bytes, **kwargs: float) -> grpc.aio.UnaryUnaryCall:
    return channel.unary_unary(f"/{SERVICE}/Do")(payload, **kwargs)


async def test_domain_errors_map_to_their_status_with_field_violations(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", deadline_seconds=5) as channel:
        code, message, violations = await rpc_error(call(channel, b"invalid"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert violations == [FieldViolation("name", "is empty"), FieldViolation("country", "bad")]
        assert "name: is empty" in message
        assert (await rpc_error(call(channel, b"missing")))[0] == grpc.StatusCode.NOT_FOUND
        assert (await rpc_error(call(channel, b"wrong-state")))[
            0
        ] == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_bug_is_internal_and_never_leaks_its_details(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", deadline_seconds=5) as channel:
        code, message, _ = await rpc_error(call(channel, b"bug"))
    assert code == grpc.StatusCode.INTERNAL
    assert "secret" not in message


async def test_calls_without_a_timeout_get_the_default_deadline(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", deadline_seconds=0.3) as channel:
        code, _, _ = await rpc_error(call(channel, b"slow"))
        assert code == grpc.StatusCode.DEADLINE_EXCEEDED
        release.set()
        assert await call(channel, b"slow", timeout=5) == b"slow"  # an explicit timeout wins


async def test_shutdown_reports_not_serving_then_drains_calls_in_flight(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", deadline_seconds=10) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert (await health.Check(health_pb2.HealthCheckRequest(service=SERVICE))).status == (
            health_pb2.HealthCheckResponse.SERVING
        )
        in_flight = asyncio.ensure_future(call(channel, b"slow"))
        watcher = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        assert (await watcher.read()).status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.create_task(server.stop())
        assert (await watcher.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert not in_flight.done()
        release.set()
        assert await in_flight == b"slow"  # the call that was running when SIGTERM came finished
        watcher.cancel()
        await stopping
