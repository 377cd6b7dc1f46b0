"""Services as real child processes (`weftwork serve <name>`), as a container runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.nats_users import user_url
from devstack.process import announced_in, dying_with_parent

WEFTWORK = Path(sys.executable).parent / "weftwork"


class ServiceProcess:
    """One `weftwork serve <name>`, started and signalled for real; its output goes to `log`.

    It binds the gRPC port of `env` (WEFTWORK_<NAME>_PORT), by default 0: any free port, which
    it announces in its log and `serving()` reads back. A restart reuses the port the first
    start got, as a restarted container keeps its address: rebinding a port its previous
    owner has just released works because gRPC listens with SO_REUSEADDR. It connects to NATS
    as its own user (devstack.nats_users) when given the test operator's URL.
    """

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.port_variable = f"WEFTWORK_{name.upper()}_PORT"
        self.port = int(env.get(self.port_variable, "0"))
        self.env = {**os.environ, **env}
        if "WEFTWORK_NATS_URL" in env:
            self.env["WEFTWORK_NATS_URL"] = user_url(env["WEFTWORK_NATS_URL"], name)
        self.full_name = f"weftwork.{name}.v1.{name.capitalize()}Service"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def target(self) -> str:
        """host:port of its gRPC server; known once it has announced it (see serving())."""
        if self.port == 0:
            raise AssertionError(f"{self.name} has not announced its port yet ({self.log})")
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        env = {**self.env, self.port_variable: str(self.port)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                # Gone with the test process, even when that is killed: no finalizer runs then.
                dying_with_parent([str(WEFTWORK), "serve", self.name], signal.SIGKILL),
                env=env,
                stdout=out,
                stderr=out,
            )

    async def serving(self) -> bool:
        """It has announced its port and its own service answers SERVING on grpc.health.v1."""
        if self.port == 0:
            self.port = announced_in(self.log, self._log_offset) or 0
            if self.port == 0:
                return False
        async with grpc.aio.insecure_channel(self.target) as channel:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=self.full_name), timeout=5
                )
            except grpc.aio.AioRpcError:
                return False
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    def signal(self, sig: int) -> int:
        """Send `sig` and wait for the exit; returns the exit code (-sig when killed by it)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)

    def stop(self) -> int:
        """SIGTERM (a graceful drain) unless it has already exited; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
