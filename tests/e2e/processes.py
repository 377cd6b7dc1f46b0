"""Services as real child processes (`weftwork serve <name>`), as a container runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

WEFTWORK = Path(sys.executable).parent / "weftwork"


class ServiceProcess:
    """One `weftwork serve <name>`, started and signalled for real; its output goes to `log`.
    The gRPC port comes from `env` (WEFTWORK_<NAME>_PORT)."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, {**os.environ, **env}, log
        self.target = f"127.0.0.1:{env[f'WEFTWORK_{name.upper()}_PORT']}"
        self.full_name = f"weftwork.{name}.v1.{name.capitalize()}Service"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(WEFTWORK), "serve", self.name], env=self.env, stdout=out, stderr=out
            )

    async def serving(self) -> bool:
        """Its own service answers SERVING on grpc.health.v1."""
        async with grpc.aio.insecure_channel(self.target) as channel:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=self.full_name), timeout=1
                )
            except grpc.aio.AioRpcError:
                return False
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    def signal(self, sig: int) -> int:
        """Send `sig` and wait for the exit; returns the exit code (-sig when killed by it)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM (a graceful drain) unless it has already exited; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
