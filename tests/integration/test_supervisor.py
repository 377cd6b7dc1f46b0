"""`weftwork up`'s supervisor with real children: a child that stops answering its liveness
probe is restarted (and the output says so); children told to bind port 0 announce the port,
the children after them are given it, and a restart binds the same port again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from devstack.liveness import Liveness, Probe, grpc_serving, http_ok
from devstack.nats_users import user_url
from devstack.supervisor import ChildSpec, Supervisor
from devstack.up import child_specs
from mesh.settings import load_settings
from tests.support import eventually

T = TypeVar("T")

# A gRPC server answering grpc.health.v1 SERVING, on WEFTWORK_FAKE_PORT (0: any free port),
# announcing its port as a service does.
GRPC_SERVER = """
import json, os
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(2))
health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
port = server.add_insecure_port("127.0.0.1:" + os.environ["WEFTWORK_FAKE_PORT"])
server.start()
print(json.dumps({"message": "grpc serving", "port": port}), flush=True)
server.wait_for_termination()
"""

# An HTTP server answering /healthz 200, announcing its port as the gateway (uvicorn) does.
HTTP_SERVER = """
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", int(os.environ["WEFTWORK_FAKE_PORT"])), Health)
port = server.server_address[1]
print(json.dumps({"message": f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C)"}),
      flush=True)
server.serve_forever()
"""

# Says which port it was given for the fake server, then waits.
READER = """
import os, time
print("fake port " + os.environ["WEFTWORK_FAKE_PORT"], flush=True)
time.sleep(600)
"""


def current(read: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def probe() -> T:
        return read()

    return probe


def fake(name: str, program: str, probe: Probe | None = None) -> ChildSpec:
    return ChildSpec(
        name,
        [sys.executable, "-c", program],
        {**os.environ, "WEFTWORK_FAKE_PORT": "0"},
        port_variable="WEFTWORK_FAKE_PORT",
        liveness=None if probe is None else Liveness(probe, period=0.1, timeout=1.0, failures=3),
    )


@pytest.fixture
async def supervised() -> AsyncIterator[Callable[..., Supervisor]]:
    """Runs the supervisors a test makes; each is stopped (and its children with it) after."""
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(children: list[ChildSpec], lines: list[str]) -> Supervisor:
        supervisor = Supervisor(children, grace=2, backoff_base=0.05, write=lines.append)
        stop = asyncio.Event()
        running.append((stop, asyncio.create_task(supervisor.run(stop))))
        return supervisor

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 60)


@pytest.mark.parametrize(
    ("program", "probe"),
    [(GRPC_SERVER, grpc_serving("127.0.0.1")), (HTTP_SERVER, http_ok("127.0.0.1", "/healthz"))],
    ids=["grpc-health", "http-healthz"],
)
async def test_a_child_that_stops_answering_its_liveness_probe_is_restarted_on_its_port(
    program: str,
    probe: Probe,
    supervised: Callable[..., Supervisor],
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines: list[str] = []
    supervisor = supervised([fake("server", program, probe)], lines)
    port = await eventually(current(lambda: supervisor.ports["server"]), what="its port")
    await eventually(current(lambda: supervisor.alive["server"]), what="its first answer")
    hung = supervisor.processes["server"]

    os.kill(hung.pid, signal.SIGSTOP)  # alive, listening, never answering: hung
    await eventually(
        current(lambda: supervisor.starts["server"]), until=lambda n: n == 2, what="a restart"
    )
    assert await asyncio.wait_for(hung.wait(), 30) in (-signal.SIGTERM, -signal.SIGKILL)
    assert supervisor.liveness_restarts["server"] == 1
    assert any("failed its liveness probe; restarting" in r.getMessage() for r in caplog.records)
    await eventually(lambda: probe(port), what="the restarted child answering on the same port")
    assert supervisor.ports["server"] == port


async def test_children_on_port_zero_are_told_the_ports_of_those_before_them(
    supervised: Callable[..., Supervisor],
) -> None:
    lines: list[str] = []
    supervisor = supervised([fake("server", GRPC_SERVER), fake("reader", READER)], lines)
    port = await eventually(current(lambda: supervisor.ports["server"]), what="its port")
    await eventually(current(lambda: lines), until=lambda ls: f"reader | fake port {port}" in ls)

    first = supervisor.processes["server"]
    first.kill()  # a crash: the restart binds the same port again
    await asyncio.wait_for(first.wait(), 30)

    def announced() -> list[int]:
        return [json.loads(line)["port"] for line in lines if "grpc serving" in line]

    assert await eventually(current(announced), until=lambda a: len(a) == 2) == [port, port]
    await eventually(lambda: grpc_serving("127.0.0.1")(port), what="the restarted server")
    assert supervisor.starts["reader"] == 1


def test_up_runs_each_child_as_its_own_nats_user_on_its_port_with_a_liveness_probe(
    tmp_path: Path,
) -> None:
    operator = "nats://ops:operator-secret@127.0.0.1:4300"
    settings = load_settings(
        {
            "WEFTWORK_DATA_DIR": str(tmp_path),
            "WEFTWORK_NATS_URL": operator,
            "WEFTWORK_BILLING_PORT": "0",
        }
    )
    specs = {spec.name: spec for spec in child_specs(settings, ["billing", "gateway"], dev=False)}
    for name, spec in specs.items():
        assert spec.env is not None
        assert spec.env["WEFTWORK_NATS_URL"] == user_url(operator, name) != operator
        assert spec.port_variable == f"WEFTWORK_{name.upper()}_PORT"
        assert spec.liveness is not None
    assert specs["billing"].env is not None and specs["gateway"].env is not None
    assert specs["billing"].env["WEFTWORK_BILLING_PORT"] == "0"
    assert specs["gateway"].env["WEFTWORK_GATEWAY_PORT"] == "8000"
