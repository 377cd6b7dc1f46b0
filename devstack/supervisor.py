"""Run named child commands: restart one that crashed or failed its liveness probe (with
backoff), stop all in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from devstack.liveness import Liveness, until_unhealthy
from devstack.process import dying_with_parent
from mesh.retry import backoff_delay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None  # None: inherit ours
    liveness: Liveness | None = None


def _write_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class Supervisor:
    """Keeps each child running until `run`'s stop event is set; then none is left behind.

    Children get their own process group, so a terminal's Ctrl-C reaches only us and we
    decide the order; and a parent-death signal, so they go too if we are SIGKILLed.
    """

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        grace: float = 10.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        stable_after: float = 30.0,
        write: Callable[[str], None] = _write_stderr,
    ) -> None:
        if len({c.name for c in children}) != len(children):
            raise ValueError("child names must be unique")
        self._children = list(children)
        self._grace = grace
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._stable_after = stable_after
        self._write = write
        self._stop_child = {c.name: asyncio.Event() for c in children}
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.starts: dict[str, int] = {c.name: 0 for c in children}
        self.liveness_restarts: dict[str, int] = {c.name: 0 for c in children}
        self.alive: dict[str, bool | None] = {c.name: None for c in children}  # last probe

    async def run(self, stop: asyncio.Event) -> None:
        """Start every child, keep them up until `stop` is set, then stop them last-first."""
        keepers = {c.name: asyncio.create_task(self._keep_running(c)) for c in self._children}
        try:
            await stop.wait()
            for child in reversed(self._children):
                self._stop_child[child.name].set()
                await keepers[child.name]
        finally:
            # Cancelled or failed half-way: no child may outlive us.
            for proc in self.processes.values():
                if proc.returncode is None:
                    _signal_group(proc, signal.SIGKILL)
            for task in keepers.values():
                task.cancel()
            await asyncio.gather(*keepers.values(), return_exceptions=True)

    async def _keep_running(self, child: ChildSpec) -> None:
        stop = self._stop_child[child.name]
        failures = 0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            status = await self._run_once(child, stop)
            if stop.is_set():
                return
            # A child that stayed up a while crashed afresh: start its backoff over.
            failures = 1 if loop.time() - started >= self._stable_after else failures + 1
            delay = backoff_delay(failures, base=self._backoff_base, cap=self._backoff_cap)
            log.warning(
                "child exited; restarting",
                extra={"child": child.name, "status": status, "restart_in_s": round(delay, 2)},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _run_once(self, child: ChildSpec, stop: asyncio.Event) -> int | None:
        """Run the child until it exits, fails its liveness probe or `stop` is set; returns its
        exit status."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *dying_with_parent(child.argv, signal.SIGTERM),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=None if child.env is None else dict(child.env),
                start_new_session=True,
                limit=1 << 20,
            )
        except OSError as exc:
            log.error("cannot start child", extra={"child": child.name, "error": str(exc)})
            return None
        self.processes[child.name] = proc
        self.starts[child.name] += 1
        log.info("child started", extra={"child": child.name, "pid": proc.pid})
        assert proc.stdout is not None
        forward = asyncio.create_task(self._forward(child.name, proc.stdout))
        exited = asyncio.create_task(proc.wait())
        stopping = asyncio.create_task(stop.wait())
        failing = asyncio.create_task(self._until_unhealthy(child))
        await asyncio.wait({exited, stopping, failing}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        failing.cancel()
        if not exited.done():
            await self._terminate(proc)
        _signal_group(proc, signal.SIGKILL)  # anything the child started and left behind
        try:
            # Its output ends at EOF, unless something that escaped the group holds the pipe.
            await asyncio.wait_for(forward, self._grace)
        except TimeoutError:
            log.warning("child output still open after exit", extra={"child": child.name})
        return proc.returncode

    async def _until_unhealthy(self, child: ChildSpec) -> None:
        """Returns when the child has failed its liveness probe; never when it has none."""
        if child.liveness is None:
            await asyncio.Event().wait()
            return
        self.alive[child.name] = None

        def seen(alive: bool) -> None:
            self.alive[child.name] = alive

        failed = await until_unhealthy(child.liveness, seen)
        self.liveness_restarts[child.name] += 1
        log.warning(
            "child failed its liveness probe; restarting",
            extra={"child": child.name, "failures_in_a_row": failed},
        )

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        _signal_group(proc, signal.SIGTERM)
        _signal_group(proc, signal.SIGCONT)  # a stopped (SIGSTOP) child must see the SIGTERM
        try:
            await asyncio.wait_for(proc.wait(), self._grace)
        except TimeoutError:
            _signal_group(proc, signal.SIGKILL)
            await proc.wait()

    async def _forward(self, name: str, stream: asyncio.StreamReader) -> None:
        """Pass JSON log lines through as they are; prefix anything else with the child's name."""
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line over the limit: asyncio has dropped it
                self._write(f"{name} | (a line too long to forward was dropped)")
                continue
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\n")
            self._write(line if _is_json_object(line) else f"{name} | {line}")


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    # The child leads its own group (start_new_session), so its pid is the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
