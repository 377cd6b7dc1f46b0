"""`weftwork up`'s supervisor with real children: a child that stops answering its liveness
probe (hung, not crashed) is restarted on its port, and the output says so."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from devstack.liveness import Liveness, grpc_serving, http_ok
from devstack.nats_users import user_url
from devstack.process import reserve_port
from devstack.servers import reserved_ports
from devstack.supervisor import ChildSpec, Supervisor
from devstack.up import child_specs
from mesh.settings import load_settings
from tests.support import eventually

T = TypeVar("T")

# A gRPC server answering grpc.health.v1 SERVING on WEFTWORK_FAKE_PORT.
GRPC_SERVER = """
import os
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(2))
health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
server.add_insecure_port("127.0.0.1:" + os.environ["WEFTWORK_FAKE_PORT"])
server.start()
server.wait_for_termination()
"""

# An HTTP server answering /healthz 200 on WEFTWORK_FAKE_PORT (SO_REUSEADDR, as uvicorn).
HTTP_SERVER = """
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(os.environ["WEFTWORK_FAKE_PORT"])), Health).serve_forever()
"""


def current(read: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def probe() -> T:
        return read()

    return probe


@pytest.fixture
def reserved() -> Iterator[socket.socket]:
    with reserve_port() as reservation:
        yield reservation


@pytest.fixture
async def supervised() -> AsyncIterator[Callable[..., Supervisor]]:
    """Runs the supervisors a test makes; each is stopped (and its children with it) after."""
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(children: list[ChildSpec]) -> Supervisor:
        supervisor = Supervisor(children, grace=2, backoff_base=0.05, write=lambda _: None)
        stop = asyncio.Event()
        running.append((stop, asyncio.create_task(supervisor.run(stop))))
        return supervisor

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 60)


@pytest.mark.parametrize("kind", ["grpc-health", "http-healthz"])
async def test_a_child_that_stops_answering_its_liveness_probe_is_restarted_on_its_port(
    kind: str,
    reserved: socket.socket,
    supervised: Callable[..., Supervisor],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = reserved.getsockname()[1]
    program, probe = {
        "grpc-health": (GRPC_SERVER, grpc_serving(f"127.0.0.1:{port}")),
        "http-healthz": (HTTP_SERVER, http_ok(f"http://127.0.0.1:{port}/healthz")),
    }[kind]
    server = ChildSpec(
        "server",
        [sys.executable, "-c", program],
        {**os.environ, "WEFTWORK_FAKE_PORT": str(port)},
        Liveness(probe, period=0.1, timeout=1.0, failures=3),
    )
    supervisor = supervised([server])
    await eventually(current(lambda: supervisor.alive["server"]), what="its first answer")
    hung = supervisor.processes["server"]

    os.kill(hung.pid, signal.SIGSTOP)  # alive, listening, never answering
    await eventually(
        current(lambda: supervisor.starts["server"]), until=lambda n: n == 2, what="a restart"
    )
    assert await asyncio.wait_for(hung.wait(), 30) in (-signal.SIGTERM, -signal.SIGKILL)
    assert supervisor.liveness_restarts["server"] == 1
    assert any("failed its liveness probe; restarting" in r.getMessage() for r in caplog.records)
    await eventually(probe, what="the restarted child answering on the same port")


def test_up_runs_each_child_as_its_own_nats_user_with_every_port_and_a_liveness_probe(
    tmp_path: Path,
) -> None:
    operator = "nats://ops:operator-secret@127.0.0.1:4300"
    configured = load_settings(
        {
            "WEFTWORK_DATA_DIR": str(tmp_path),
            "WEFTWORK_NATS_URL": operator,
            "WEFTWORK_BILLING_PORT": "0",
        }
    )
    with reserved_ports(configured) as settings:
        billing = settings.grpc_ports["billing"]
        assert billing != 0 and settings.grpc_ports["customer"] == 50051
        specs = child_specs(settings, ["billing", "gateway"], dev=False)
    for spec in specs:
        assert spec.env is not None
        assert spec.env["WEFTWORK_NATS_URL"] == user_url(operator, spec.name) != operator
        assert spec.env["WEFTWORK_BILLING_PORT"] == str(billing)  # the gateway dials it
        assert spec.liveness is not None
