"""The fault suite's process launcher: a separate, single-threaded process that starts, signals
and stops PostgreSQL, NATS and the service processes on request (JSON lines on stdin/stdout).

Why a process of its own: everything it starts gets a parent-death signal (through
devstack.process.dying_with_parent), which Linux sends when the *thread* that spawned the
child ends; here one thread spawns everything and lives as long as the run, while the test
process's threads come and go. When the test process goes away, stdin ends and everything
started here is stopped; at the end it checks that nothing it started is left.
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from devstack.nats import EmbeddedNats
from devstack.nats_cluster import NatsCluster
from devstack.postgres import EmbeddedPostgres
from devstack.process import dying_with_parent
from mesh.settings import local_socket_dir

WEFTWORK = Path(sys.executable).parent / "weftwork"


class Launcher:
    def __init__(self) -> None:
        self.postgres: EmbeddedPostgres | None = None
        self.nats: EmbeddedNats | None = None
        self.cluster: NatsCluster | None = None  # cluster mode (tests/faults/nats_cluster.py)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.started: list[psutil.Process] = []
        self.work_dir = Path()

    def up(self, work_dir: str, cluster: bool = False) -> dict[str, Any]:
        self.work_dir = Path(work_dir)
        self.postgres = EmbeddedPostgres(
            self.work_dir / "postgres", local_socket_dir(self.work_dir)
        )
        if cluster:  # NATS comes with cluster_start, once the route proxies are open
            self.cluster = NatsCluster(self.work_dir / "nats", sync_always=True)
            self.postgres.start()
            self._track(self.postgres.pid)
            return {
                "dsn": self.postgres.dsn,
                "socket": str(self.postgres.socket_dir / f".s.PGSQL.{self.postgres.port}"),
                "cluster_addresses": [
                    self.cluster.cluster_address(i) for i in range(len(self.cluster.nodes))
                ],
            }
        # Any free port, picked by the server; its restarts (nats_start) keep that port.
        self.nats = EmbeddedNats(self.work_dir / "nats")
        self.postgres.start()
        self.nats.start()
        self._track(self.postgres.pid, self.nats.pid)
        socket = self.postgres.socket_dir / f".s.PGSQL.{self.postgres.port}"
        return {
            "dsn": self.postgres.dsn,
            "socket": str(socket),
            "nats_url": self.nats.url,  # the operator's
            "nats_address": f"{self.nats.host}:{self.nats.port}",
        }

    def start(self, name: str, service: str, env: dict[str, str], log: str) -> dict[str, Any]:
        """Refuses a process that is still running: two would contend for its port."""
        if name in self.children and self.children[name].poll() is None:
            raise RuntimeError(f"{name} is already running (pid {self.children[name].pid})")
        with open(log, "ab") as out:
            child = subprocess.Popen(
                dying_with_parent([str(WEFTWORK), "serve", service], signal.SIGKILL),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.children[name] = child
        self._track(child.pid)
        return {"pid": child.pid}

    def send(self, name: str, signum: int) -> dict[str, Any]:
        child = self.children[name]
        if child.poll() is None:
            child.send_signal(signum)
        if signum in (signal.SIGKILL, signal.SIGTERM):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=30)
        return {"returncode": child.poll()}

    def exited(self, name: str) -> dict[str, Any]:
        return {"returncode": self.children[name].poll()}

    def cpu(self) -> dict[str, Any]:
        """CPU seconds of everything started here: those that exited (and what they reaped)
        and those still running, with their children."""
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = done.ru_utime + done.ru_stime
        for process in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                t = process.cpu_times()
                seconds += t.user + t.system + t.children_user + t.children_system
        return {"seconds": seconds}

    def nats_kill(self) -> dict[str, Any]:
        assert self.nats is not None
        self.nats.kill()
        return {}

    def nats_start(self) -> dict[str, Any]:
        assert self.nats is not None
        self.nats.start()
        self._track(self.nats.pid)
        return {}

    def cluster_start(self, routes: dict[str, str]) -> dict[str, Any]:
        """Cluster mode: the nodes, routed through the proxies ("a-b": the one a dials to b)."""
        assert self.cluster is not None
        for pair, address in routes.items():
            a, b = pair.split("-")
            self.cluster.route_via[(int(a), int(b))] = address
        self.cluster.start()
        self._track(*(node.pid for node in self.cluster.nodes))
        first = self.cluster.nodes[0]
        return {
            "nats_url": self.cluster.url,  # the operator's, every node
            "nats_address": f"{first.host}:{first.port}",  # the victim's link: node 0
            "stream_replicas": len(self.cluster.nodes),
        }

    def node_kill(self, indexes: list[int]) -> dict[str, Any]:
        assert self.cluster is not None
        for index in indexes:
            self.cluster.kill(index)
        return {}

    def node_start(self, indexes: list[int]) -> dict[str, Any]:
        assert self.cluster is not None
        self.cluster.start_nodes(indexes)
        self._track(*(self.cluster.nodes[i].pid for i in indexes))
        return {}

    def postgres_crash(self) -> dict[str, Any]:
        """Immediate shutdown (no checkpoint), then a start that runs crash recovery."""
        assert self.postgres is not None
        self.postgres.stop("immediate")
        self.postgres.start()
        self._track(self.postgres.pid)
        return {}

    def down(self) -> dict[str, Any]:
        """Services first (SIGCONT, SIGTERM, a grace), then NATS, then PostgreSQL."""
        running = [name for name, child in self.children.items() if child.poll() is None]
        for name in running:
            self.children[name].send_signal(signal.SIGCONT)
            self.children[name].terminate()
        for name in running:
            self.send(name, signal.SIGTERM)
        if self.nats is not None:
            self.nats.stop()
        if self.cluster is not None:
            self.cluster.close()
        if self.postgres is not None:
            self.postgres.stop()
        return {"left_behind": self._left_behind()}

    def _track(self, *pids: int | None) -> None:
        for pid in pids:
            if pid is not None:
                process = psutil.Process(pid)
                self.started += [process, *process.children(recursive=True)]

    def _left_behind(self) -> list[str]:
        deadline = time.monotonic() + 10
        while True:
            alive = [p for p in self.started if _alive(p)]
            alive += [p for p in psutil.process_iter() if _alive(p) and self._uses_ours(p)]
            if not alive or time.monotonic() > deadline:
                return [f"{p.pid} {p.name()}" for p in alive]
            time.sleep(0.1)

    def _uses_ours(self, process: psutil.Process) -> bool:
        try:
            return str(self.work_dir) in " ".join(process.cmdline())
        except psutil.Error:
            return False


def _alive(process: psutil.Process) -> bool:
    try:
        # is_running compares the creation time too: a reused pid is not taken for ours.
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def main() -> None:
    launcher = Launcher()
    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                reply = getattr(launcher, request.pop("op"))(**request)
            except Exception as exc:
                reply = {"error": repr(exc)}
            print(json.dumps(reply), flush=True)
            if "left_behind" in reply:
                return
    finally:
        launcher.down()  # stdin ended (the test process is gone) or we failed: nothing stays


if __name__ == "__main__":
    main()
