"""Service identity over real sockets: mutual TLS, per-RPC allow-lists, a plaintext health port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from devstack.certs import ensure_certificates
from mesh.grpc.client import open_channel
from mesh.grpc.server import GrpcServer, ServiceBinding
from mesh.settings import TlsFiles
from tests.support import rpc_error

SERVICE = "test.Probe"
IDENTITIES = ["project", "gateway", "billing", "ops"]


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


def _register(_: object, server: grpc.aio.Server) -> None:
    handlers = {"Do": grpc.unary_unary_rpc_method_handler(echo)}
    handlers["Undeclared"] = grpc.unary_unary_rpc_method_handler(echo)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TlsFiles]:
    return ensure_certificates(tmp_path_factory.mktemp("tls"), IDENTITIES)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TlsFiles]:
    """Certificates with the right names from another CA."""
    return ensure_certificates(tmp_path_factory.mktemp("other-ca"), IDENTITIES)


@pytest.fixture
async def server(certs: dict[str, TlsFiles]) -> AsyncIterator[GrpcServer]:
    """`project`, serving mutual TLS; Do allowed to the gateway only; health on its own port."""
    running = GrpcServer(
        [ServiceBinding(SERVICE, _register, None)],
        address="127.0.0.1:0",
        grace_seconds=1,
        tls=certs["project"],
        callers={f"/{SERVICE}/Do": frozenset({"gateway"})},
        health_address="127.0.0.1:0",
    )
    await running.start()
    yield running
    await running.stop()


def channel(
    server: GrpcServer, files: TlsFiles | None, *, name: str = "project"
) -> grpc.aio.Channel:
    return open_channel(f"127.0.0.1:{server.port}", deadline_seconds=5, tls=files, server_name=name)


def do(ch: grpc.aio.Channel, method: str = "Do") -> grpc.aio.UnaryUnaryCall:
    return ch.unary_unary(f"/{SERVICE}/{method}")(b"hello")


async def test_a_call_without_a_client_certificate_fails_the_handshake(
    server: GrpcServer, certs: dict[str, TlsFiles]
) -> None:
    ca = certs["gateway"].ca.read_bytes()
    anonymous = grpc.ssl_channel_credentials(root_certificates=ca)  # trusts the server, no cert
    options = [("grpc.ssl_target_name_override", "project")]
    async with grpc.aio.secure_channel(f"127.0.0.1:{server.port}", anonymous, options) as ch:
        code, _, _ = await rpc_error(do(ch))
    assert code == grpc.StatusCode.UNAVAILABLE
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as plain:
        assert (await rpc_error(do(plain)))[0] == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_of_another_ca_fails_the_handshake(
    server: GrpcServer, foreign: dict[str, TlsFiles], certs: dict[str, TlsFiles]
) -> None:
    # The right name signed by the wrong CA, trusting the right one for the server.
    forged = TlsFiles(
        ca=certs["gateway"].ca, cert=foreign["gateway"].cert, key=foreign["gateway"].key
    )
    async with channel(server, forged) as ch:
        assert (await rpc_error(do(ch)))[0] == grpc.StatusCode.UNAVAILABLE


async def test_the_client_checks_the_server_is_the_service_it_meant(
    server: GrpcServer, certs: dict[str, TlsFiles]
) -> None:
    async with channel(server, certs["gateway"], name="customer") as ch:  # project answers
        assert (await rpc_error(do(ch)))[0] == grpc.StatusCode.UNAVAILABLE


async def test_only_the_callers_a_method_allows_may_call_it(
    server: GrpcServer, certs: dict[str, TlsFiles]
) -> None:
    async with channel(server, certs["gateway"]) as ch:
        assert await do(ch) == b"hello"
        # A method nobody declared is refused to everyone.
        code, message, _ = await rpc_error(do(ch, "Undeclared"))
        assert (code, message) == (
            grpc.StatusCode.PERMISSION_DENIED,
            f"gateway may not call /{SERVICE}/Undeclared",
        )
    async with channel(server, certs["billing"]) as ch:
        code, message, _ = await rpc_error(do(ch))
    assert (code, message) == (
        grpc.StatusCode.PERMISSION_DENIED,
        f"billing may not call /{SERVICE}/Do",
    )


async def test_health_answers_every_peer_and_reflection_only_operators(
    server: GrpcServer, certs: dict[str, TlsFiles]
) -> None:
    request = health_pb2.HealthCheckRequest(service=SERVICE)
    async with channel(server, certs["billing"]) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        assert (await health.Check(request)).status == health_pb2.HealthCheckResponse.SERVING
        watch = health.Watch(request)  # a server-streaming method passes the check too
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        watch.cancel()
        code, _, _ = await rpc_error(_list_services(ch))
        assert code == grpc.StatusCode.PERMISSION_DENIED
    async with channel(server, certs["ops"]) as ch:
        assert SERVICE in await _list_services(ch)


async def test_the_health_port_serves_health_alone_without_a_certificate(
    server: GrpcServer,
) -> None:
    assert server.health_port not in (None, server.port)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.health_port}") as ch:
        health = health_pb2_grpc.HealthStub(ch)
        answer = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        assert (await rpc_error(do(ch)))[0] == grpc.StatusCode.UNIMPLEMENTED
        code, _, _ = await rpc_error(_list_services(ch))
        assert code == grpc.StatusCode.UNIMPLEMENTED
        # A probe sees the drain begin: NOT_SERVING before the API port closes.
        watch = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.create_task(server.stop())
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
        await stopping


async def _list_services(ch: grpc.aio.Channel) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(ch)
    call = stub.ServerReflectionInfo(timeout=5)
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    answer = await call.read()
    await call.done_writing()
    return [s.name for s in answer.list_services_response.service]
