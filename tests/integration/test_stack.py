"""The local stack as real processes: servers survive kills, `up` leaves no process behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncpg
import nats
import psutil
import pytest

from devstack.certs import existing_identity
from devstack.entrypoints import RUNNABLE
from devstack.nats import EmbeddedNats
from devstack.postgres import SYSTEM_USER, EmbeddedPostgres
from devstack.process import log_tail, wait_gone
from devstack.status import grpc_health
from devstack.supervisor import ChildSpec, Supervisor
from devstack.up import READY_BANNER
from mesh.settings import OPS, SERVICES, local_socket_dir
from tests.conftest import Stack
from tests.support import eventually

T = TypeVar("T")


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not tmp_path: each new pytest session resets /tmp/pytest-of-<user> to 0700, and as root
    # PostgreSQL runs as another user, who must be able to traverse every parent directory.
    path = Path(tempfile.mkdtemp(prefix="weftwork-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def postgres(workdir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(workdir / "postgres", local_socket_dir(workdir))  # a unix socket
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def jetstream(workdir: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(workdir / "nats")  # any free port; restarts keep it
    try:
        yield server
    finally:
        server.kill()


async def test_session_stack_serves_postgres_and_jetstream(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.database_url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
    client = await nats.connect(stack.nats_url)
    try:
        await client.jetstream().account_info()
    finally:
        await client.close()


async def _count_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM ledger"))
    finally:
        await conn.close()


async def test_postgres_keeps_committed_rows_across_sigkill_and_restarts(
    postgres: EmbeddedPostgres,
) -> None:
    dsn = postgres.start()
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE ledger (id int PRIMARY KEY)")
    await conn.executemany("INSERT INTO ledger VALUES ($1)", [(i,) for i in range(100)])
    await conn.close()
    assert postgres.pid is not None

    postgres.kill()
    assert postgres.pid is None
    assert postgres.running_pid() is None
    assert await _count_rows(postgres.start()) == 100

    assert await _count_rows(postgres.restart("immediate")) == 100
    assert await _count_rows(postgres.restart("fast")) == 100
    postgres.stop()
    assert postgres.running_pid() is None


async def test_postgres_starts_over_a_lock_file_whose_pid_was_reused(
    postgres: EmbeddedPostgres,
) -> None:
    postgres.start()
    postgres.kill()
    # A live process of the server's own user now holds the old pid: PostgreSQL alone would
    # take it for another postmaster and refuse to start.
    server_user = SYSTEM_USER if os.geteuid() == 0 else None
    impostor = subprocess.Popen(["sleep", "60"], user=server_user)  # noqa: ASYNC220
    try:
        lock = postgres.data_dir / "postmaster.pid"
        lines = lock.read_text().splitlines()
        lock.write_text("\n".join([str(impostor.pid), *lines[1:]]) + "\n")
        assert postgres.running_pid() is None
        dsn = postgres.start()
        conn = await asyncpg.connect(dsn)
        await conn.close()
    finally:
        impostor.kill()
        impostor.wait()


async def test_jetstream_stream_and_messages_survive_kill_9(jetstream: EmbeddedNats) -> None:
    url = jetstream.start()
    client = await nats.connect(url)
    js = client.jetstream()
    await js.add_stream(name="LEDGER", subjects=["ledger.>"])
    for i in range(50):
        await js.publish("ledger.entry", str(i).encode())
    await client.close()

    jetstream.kill()
    assert jetstream.pid is None
    jetstream.start()

    client = await nats.connect(url)
    try:
        js = client.jetstream()
        assert (await js.stream_info("LEDGER")).state.messages == 50
        subscription = await js.pull_subscribe("ledger.>", durable="check")
        messages = await subscription.fetch(50, timeout=5)
        assert [m.data for m in messages] == [str(i).encode() for i in range(50)]
    finally:
        await client.close()


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def current(read: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """A probe for `eventually` that reads a value we already hold."""

    async def probe() -> T:
        return read()

    return probe


async def test_supervisor_restarts_a_crashed_child_and_forwards_its_output() -> None:
    lines: list[str] = []
    supervisor = Supervisor(
        [
            ChildSpec("crasher", _python("print('boom', flush=True); raise SystemExit(3)")),
            ChildSpec(
                "talker", _python('import time; print(\'{"level": "INFO"}\'); time.sleep(60)')
            ),
        ],
        backoff_base=0.05,
        backoff_cap=0.2,
        write=lines.append,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))
    await eventually(current(lambda: supervisor.starts["crasher"]), until=lambda n: n >= 3)
    await eventually(current(lambda: lines), until=lambda ls: '{"level": "INFO"}' in ls)
    stop.set()
    await asyncio.wait_for(running, 30)
    assert "crasher | boom" in lines
    assert supervisor.processes["talker"].returncode == -signal.SIGTERM


async def test_supervisor_kills_a_child_that_ignores_sigterm_after_the_grace() -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    stubborn += "print('ready', flush=True); time.sleep(60)"
    lines: list[str] = []
    supervisor = Supervisor(
        [ChildSpec("stubborn", _python(stubborn))], grace=0.5, write=lines.append
    )
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))
    await eventually(current(lambda: lines), until=lambda ls: "stubborn | ready" in ls)
    stop.set()
    await asyncio.wait_for(running, 30)
    assert supervisor.processes["stubborn"].returncode == -signal.SIGKILL


def _up_env(data_dir: Path) -> dict[str, str]:
    """`up` on ports it picks (0): NATS, every service, the gateway and the metrics."""
    env = {**os.environ, "WEFTWORK_DATA_DIR": str(data_dir), "WEFTWORK_SHUTDOWN_GRACE_SECONDS": "5"}
    env["WEFTWORK_NATS_PORT"] = "0"
    env["WEFTWORK_GATEWAY_PORT"] = "0"
    for name in SERVICES:
        env[f"WEFTWORK_{name.upper()}_PORT"] = "0"
        env[f"WEFTWORK_{name.upper()}_METRICS_PORT"] = "0"
    for name in ("WEFTWORK_DATABASE_URL", "WEFTWORK_NATS_URL"):
        env.pop(name, None)  # `up` must start its own servers
    return env


@dataclass
class Up:
    proc: asyncio.subprocess.Process
    endpoints: dict[str, str]  # "customer": "127.0.0.1:<port>", "NATS": "nats://ops:***@…"

    def nats_url(self, data_dir: Path) -> str:
        """The operator's URL: the password is in the data dir, never printed."""
        secret = (data_dir / "nats" / "operator-password").read_text().strip()
        return self.endpoints["NATS"].replace(":***@", f":{secret}@")


@contextlib.asynccontextmanager
async def running_up(env: dict[str, str], log: Path) -> AsyncIterator[Up]:
    """`weftwork up` as a real process, once its endpoint table is printed; killed if left."""
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devstack.cli",
            "up",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    try:
        endpoints: dict[str, str] = {}
        async with asyncio.timeout(120):
            while READY_BANNER not in (line := (await proc.stdout.readline()).decode()):
                assert line, f"up exited early:\n{log_tail(log)}"
            # The table: "  <part>  <address>  <origin>", the data dir last.
            while not (line := (await proc.stdout.readline()).decode()).startswith("  data dir"):
                assert line, f"up exited early:\n{log_tail(log)}"
                part, address = line.split()[:2]
                endpoints[part] = line.split()[2] if address == "gRPC" else address
        yield Up(proc, endpoints)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return list(process.cmdline())
    except psutil.Error:
        return []


def _processes_mentioning(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(path) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


async def _interrupt(proc: asyncio.subprocess.Process, data_dir: Path) -> None:
    """SIGINT `up` as Ctrl-C would; it must exit 0 and leave no process behind."""
    children = psutil.Process(proc.pid).children(recursive=True)
    assert _processes_mentioning(data_dir)
    proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    assert wait_gone(children, timeout=10) == []
    assert _processes_mentioning(data_dir) == []


async def test_up_serves_until_sigint_leaves_no_process_and_keeps_data(workdir: Path) -> None:
    env = _up_env(workdir / "weftwork")
    data_dir = Path(env["WEFTWORK_DATA_DIR"])
    dsn = EmbeddedPostgres(data_dir / "postgres", local_socket_dir(data_dir)).dsn
    async with running_up(env, workdir / "up.log") as up:
        client = await nats.connect(up.nats_url(data_dir))
        await client.jetstream().account_info()
        await client.close()
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('kept')")
        await conn.close()
        target = up.endpoints["customer"]
        ops = existing_identity(data_dir, OPS)  # `up` serves gRPC over mutual TLS
        assert ops is not None
        await eventually(
            lambda: grpc_health(target, ops, "customer"), until=lambda s: s == "SERVING", within=60
        )
        await _interrupt(up.proc, data_dir)

    async with running_up(env, workdir / "up.log") as up:
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT note FROM marker") == "kept"
        await conn.close()
        await _interrupt(up.proc, data_dir)


async def test_children_of_a_sigkilled_up_do_not_linger(workdir: Path) -> None:
    async with running_up(_up_env(workdir / "weftwork"), workdir / "up.log") as up:
        # Every service and the gateway spawned (the table is printed before they are), each
        # past its exec wrapper: a process mid-exec shows an empty command line.
        async def children() -> list[psutil.Process]:
            return list(psutil.Process(up.proc.pid).children(recursive=True))

        def all_serving(found: list[psutil.Process]) -> bool:
            return {"serve", *RUNNABLE} <= {arg for p in found for arg in _cmdline(p)}

        spawned = await eventually(children, until=all_serving, what="every child spawned")
        up.proc.kill()
        await up.proc.wait()
        assert wait_gone(spawned, timeout=30) == []
