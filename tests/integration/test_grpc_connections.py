"""gRPC connections over real sockets: a downstream that accepts but never answers fails calls
in seconds (not after gRPC's default 20 s connect timeout), and servers close connections
after their maximum age so clients spread onto new replicas."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.grpc.client import CHANNEL_OPTIONS, open_channel
from mesh.grpc.server import SERVER_OPTIONS, GrpcServer
from tests.support import eventually


@pytest.fixture
def hung_downstream() -> Iterator[str]:
    """A listening socket nobody accepts on: the kernel completes TCP handshakes, nothing more
    ever comes back (a hung process, a frozen pod)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


async def test_a_hung_downstream_fails_calls_as_unavailable_long_before_their_deadline(
    hung_downstream: str,
) -> None:
    async with open_channel(hung_downstream, deadline_seconds=15) as channel:
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        # gRPC's defaults would keep the channel CONNECTING for 20 s: DEADLINE_EXCEEDED at 15 s.
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value
        assert time.monotonic() - started < 15


def test_channels_reconnect_quickly_and_ping_their_peer() -> None:
    options = dict(CHANNEL_OPTIONS)
    assert options["grpc.min_reconnect_backoff_ms"] <= 2_000
    assert options["grpc.initial_reconnect_backoff_ms"] == 200
    assert options["grpc.max_reconnect_backoff_ms"] == 5_000
    assert options["grpc.keepalive_time_ms"] == options["grpc.keepalive_timeout_ms"] == 10_000
    # The server lets those pings through instead of answering them with GOAWAY.
    server = dict(SERVER_OPTIONS)
    assert server["grpc.http2.min_ping_interval_without_data_ms"] <= 10_000
    assert server["grpc.max_connection_age_ms"] == 300_000
    assert server["grpc.max_connection_age_grace_ms"] == 30_000


async def test_a_server_closes_a_connection_after_its_maximum_age() -> None:
    aged = [(k, v) for k, v in SERVER_OPTIONS if not k.startswith("grpc.max_connection_age")]
    server = GrpcServer(
        [],
        address="127.0.0.1:0",
        grace_seconds=1,
        options=[
            *aged,
            ("grpc.max_connection_age_ms", 300),
            ("grpc.max_connection_age_grace_ms", 300),
        ],
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert channel.get_state() == grpc.ChannelConnectivity.READY

            async def state() -> grpc.ChannelConnectivity:
                return channel.get_state()

            # The server's GOAWAY leaves the channel idle: the next call connects anew.
            await eventually(
                state, until=lambda s: s != grpc.ChannelConnectivity.READY, within=10,
                what="the server to close the aged connection",
            )  # fmt: skip
            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    finally:
        await server.stop()
