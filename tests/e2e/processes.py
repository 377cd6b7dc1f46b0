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
from devstack.process import dying_with_parent, reserve_port

WEFTWORK = Path(sys.executable).parent / "weftwork"


class ServiceProcess:
    """One `weftwork serve <name>`, started and signalled for real; its output goes to `log`.

    Its gRPC port is WEFTWORK_<NAME>_PORT of `env` if given, else a free port reserved for it
    (devstack.process.reserve_port) until ensure_stopped(): a restart binds it again, and
    nobody else is handed it in between. It connects to NATS as its own user when given the
    test operator's URL (devstack.nats_users).
    """

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        variable = f"WEFTWORK_{name.upper()}_PORT"
        self.port = int(env.get(variable, "0"))
        self._reservation = None if self.port else reserve_port()
        if self._reservation is not None:
            self.port = int(self._reservation.getsockname()[1])
        self.env = {**os.environ, **env, variable: str(self.port)}
        if "WEFTWORK_NATS_URL" in env:
            self.env["WEFTWORK_NATS_URL"] = user_url(env["WEFTWORK_NATS_URL"], name)
        self.target = f"127.0.0.1:{self.port}"
        self.full_name = f"weftwork.{name}.v1.{name.capitalize()}Service"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                # Gone with the test process, even when that is killed: no finalizer runs then.
                dying_with_parent([str(WEFTWORK), "serve", self.name], signal.SIGKILL),
                env=self.env,
                stdout=out,
                stderr=out,
            )

    async def serving(self) -> bool:
        """Its own service answers SERVING on grpc.health.v1."""
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
        """Killed if still running; its port released."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self._reservation is not None:
            self._reservation.close()
