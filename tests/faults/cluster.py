"""The platform as under `weftwork up`, for fault injection: every part its own OS process.

PostgreSQL and NATS (embedded, in a temporary directory), the four services
(`weftwork serve <name>`), a second billing and a second revenue instance (the live peers that
take over a paused consumer's messages), and a TCP proxy on the NATS and PostgreSQL links of
one service, the victim of the network faults.
The processes are started and signalled by tests/faults/launcher.py, a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psutil
from cryptography.fernet import Fernet
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.nats_users import user_url
from devstack.process import reserve_port
from mesh.settings import SERVICES, server_urls, with_database
from tests.faults import nats_cluster as nodes
from tests.faults.proxy import LinkProxy, ProxyThread
from tests.faults.retention import PRUNING_ENV
from tests.support import eventually

ROOT = Path(__file__).parents[2]
# The consumer services that run a second instance: the live peer of a paused one. Two revenue
# instances once deadlocked each other's batches (docs/faults.md, "Findings", 1).
PEERED = ("billing", "revenue")
# Connect's settings for the run: http to a loopback partner, quick worker pacing.
CONNECT_ENV = {
    "WEFTWORK_CONNECT_OUTBOUND_ALLOW_INSECURE": "true",
    "WEFTWORK_CONNECT_POLL_SECONDS": "0.2",
    "WEFTWORK_CONNECT_DELIVERY_POLL_SECONDS": "0.2",
    "WEFTWORK_CONNECT_DELIVERY_BACKOFF_BASE_SECONDS": "0.1",
    "WEFTWORK_CONNECT_DELIVERY_BACKOFF_CAP_SECONDS": "2",
    "WEFTWORK_CONNECT_DELIVERY_TIMEOUT_SECONDS": "5",
}
# Fast reconnects: a killed service is back within seconds, and the driver should notice.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class Launcher:
    """The launcher process, one request at a time over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._turn = asyncio.Lock()

    @classmethod
    async def spawn(cls) -> Launcher:
        # Not dying_with_parent: the launcher notices the end of its input instead.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.faults.launcher",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        return cls(process)

    async def __call__(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        async with self._turn:
            self.process.stdin.write(json.dumps({"op": op, **args}).encode() + b"\n")
            await self.process.stdin.drain()
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=180)
        reply: dict[str, Any] = json.loads(line or b'{"error": "launcher exited"}')
        if "error" in reply:
            raise RuntimeError(f"launcher {op}: {reply['error']}")
        return reply


@dataclass
class Instance:
    """One `weftwork serve <service>` process, on a port reserved for it for the whole run
    (devstack.process.reserve_port): every restart binds it again, and the driver's channels
    and the other services find it where it was, as a restarted pod keeps its address."""

    name: str  # "billing", or "billing-peer"
    service: str
    port: int
    env: dict[str, str]
    log: Path
    down_on_purpose: bool = False
    unexpected_exits: list[int] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Platform:
    launcher: Launcher
    postgres_dsn: str
    nats_url: str
    proxies: ProxyThread
    victim: str
    links: dict[str, LinkProxy]  # "nats", "postgres": the victim's links
    instances: dict[str, Instance]
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    routes: dict[tuple[int, int], LinkProxy] = field(default_factory=dict)  # cluster mode
    # Both lanes supervise: one at a time, or both would restart the same process.
    _supervising: asyncio.Lock = field(default_factory=asyncio.Lock)

    def database_url(self, service: str) -> str:
        """The service's own database, directly (the checker reads it)."""
        return with_database(self.postgres_dsn, f"weftwork_{service}")

    def main(self, service: str) -> Instance:
        return self.instances[service]

    def channel(self, service: str) -> grpc.aio.Channel:
        """The driver's channel to a service (its first instance); closed with the platform."""
        if service not in self.channels:
            target = self.main(service).target
            self.channels[service] = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        return self.channels[service]

    async def start(self, instance: Instance) -> None:
        await self.launcher(
            "start", name=instance.name, service=instance.service, env=instance.env,
            log=str(instance.log),
        )  # fmt: skip
        instance.down_on_purpose = False

    async def signal(self, instance: Instance, signum: int) -> None:
        instance.down_on_purpose |= signum == signal.SIGKILL
        await self.launcher("send", name=instance.name, signum=int(signum))

    async def wait_serving(self, *instances: Instance, within: float = 90.0) -> None:
        for instance in instances:
            await eventually(
                functools.partial(serving, instance.target),
                within=within,
                interval=0.1,
                what=f"{instance.name} SERVING ({instance.log})",
            )

    async def supervise(self) -> None:
        """What a supervisor does: a process that exited on its own is started again."""
        async with self._supervising:
            for instance in self.instances.values():
                if instance.down_on_purpose:
                    continue
                code = (await self.launcher("exited", name=instance.name))["returncode"]
                # Killed on purpose meanwhile (the other lane): not for us to restart.
                if code is not None and not instance.down_on_purpose:
                    instance.unexpected_exits.append(code)
                    await self.start(instance)

    def unexpected_exits(self) -> dict[str, list[int]]:
        return {i.name: i.unexpected_exits for i in self.instances.values() if i.unexpected_exits}


async def serving(target: str) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        except grpc.aio.AioRpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


@contextlib.asynccontextmanager
async def running_platform(
    log_dir: Path, victim: str, ack_wait: float, *, nats_cluster: bool = False
) -> AsyncIterator[Platform]:
    """Everything started and SERVING; on exit stopped, with no process left behind.
    `nats_cluster`: three NATS nodes, R3 streams (tests/faults/nats_cluster.py)."""
    # Not under pytest's tmp dir: PostgreSQL runs as an unprivileged user when we are root.
    work_dir = Path(tempfile.mkdtemp(prefix="weftwork-faults-"))
    launcher = await Launcher.spawn()
    proxies = ProxyThread()
    ports = contextlib.ExitStack()  # the instances' reserved ports, held for the whole run
    left_behind: list[str] = []
    try:
        servers = await launcher("up", work_dir=str(work_dir), cluster=nats_cluster)
        routes = await nodes.start(launcher, proxies, servers) if nats_cluster else {}
        links = {
            "nats": proxies.open("nats", servers["nats_address"]),
            "postgres": proxies.open("postgres", servers["socket"]),
        }
        instances = _instances(servers, links, log_dir, work_dir, victim, ack_wait, ports)
        platform = Platform(
            launcher, servers["dsn"], servers["nats_url"], proxies, victim, links, instances,
            routes=routes,
        )  # fmt: skip
        for instance in instances.values():
            await platform.start(instance)
        await platform.wait_serving(*instances.values())
        try:
            yield platform
        finally:
            for channel in platform.channels.values():
                await channel.close()
    finally:
        with contextlib.suppress(Exception):
            left_behind = (await launcher("down"))["left_behind"]
        proxies.close()
        ports.close()
        assert launcher.process.stdin is not None
        launcher.process.stdin.close()  # if "down" failed, the end of its input stops it all
        try:
            await asyncio.wait_for(launcher.process.wait(), 90)
        except TimeoutError:
            launcher.process.kill()  # its children get their parent-death signal
            await launcher.process.wait()
        for log in ("nats.log", "postgres.log", *(f"nats/weftwork_n{i}.log" for i in range(3))):
            with contextlib.suppress(OSError):
                shutil.copy(work_dir / log, log_dir / Path(log).name)
        shutil.rmtree(work_dir, ignore_errors=True)
    assert not left_behind, f"processes left behind: {left_behind}"
    assert not [p for p in psutil.process_iter() if _uses(p, work_dir)], "servers left behind"


def _instances(
    servers: dict[str, Any],
    links: dict[str, LinkProxy],
    log_dir: Path,
    work_dir: Path,
    victim: str,
    ack_wait: float,
    held: contextlib.ExitStack,
) -> dict[str, Instance]:
    """Each service's process (the victim's links through the proxy), and the peers."""
    names = [*SERVICES, *(f"{service}-peer" for service in PEERED)]
    ports = {name: int(held.enter_context(reserve_port()).getsockname()[1]) for name in names}
    env = {
        **os.environ,
        "WEFTWORK_DATA_DIR": str(work_dir),
        "WEFTWORK_DATABASE_URL": servers["dsn"],
        "WEFTWORK_ACK_WAIT_SECONDS": str(ack_wait),
        "WEFTWORK_SHUTDOWN_GRACE_SECONDS": "2",
        **PRUNING_ENV,  # retention prunes while the faults happen (tests/faults/retention.py)
        "WEFTWORK_STREAM_REPLICAS": str(servers.get("stream_replicas", 1)),  # 3 on a cluster
        **CONNECT_ENV,
        "WEFTWORK_CONNECT_SECRET_KEY": Fernet.generate_key().decode(),  # one for the run
        **{f"WEFTWORK_{s.upper()}_PORT": str(ports[s]) for s in SERVICES},
        # Any free port: two instances of a service must not contend for a fixed one.
        **{f"WEFTWORK_{s.upper()}_METRICS_PORT": "0" for s in SERVICES},
    }

    def own(service: str, *, proxied: bool) -> dict[str, str]:
        """The environment of one service's process: NATS as its own user."""
        url = user_url(servers["nats_url"], service)
        if not proxied:
            return {**env, "WEFTWORK_NATS_URL": url}
        # The victim's links go through the proxy: the same credentials, the proxy's port.
        credentials = server_urls(url)[0].removeprefix("nats://").rpartition("@")[0]
        return {
            **env,
            "WEFTWORK_NATS_URL": f"nats://{credentials}@127.0.0.1:{links['nats'].port}",
            f"WEFTWORK_{victim.upper()}_DATABASE_URL": (
                f"postgresql://postgres@127.0.0.1:{links['postgres'].port}/weftwork_{victim}"
            ),
        }

    instances = {
        s: Instance(s, s, ports[s], own(s, proxied=s == victim), log_dir / f"{s}.log")
        for s in SERVICES
    }
    for service in PEERED:
        name = f"{service}-peer"
        peer_env = {
            **own(service, proxied=False),
            f"WEFTWORK_{service.upper()}_PORT": str(ports[name]),
        }
        instances[name] = Instance(name, service, ports[name], peer_env, log_dir / f"{name}.log")
    return instances


def _uses(process: psutil.Process, work_dir: Path) -> bool:
    try:
        return str(work_dir) in " ".join(process.cmdline())
    except psutil.Error:
        return False
