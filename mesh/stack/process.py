"""Child-process plumbing shared by the embedded servers and the supervisor."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import psutil

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A local server could not be started or stopped."""


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn asking Linux to send `sig` to the child when we die (None elsewhere).

    The kernel sends it when the *thread* that forked exits, so spawn from a long-lived thread
    (the main one). It runs after subprocess's setuid, which would otherwise clear it.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:  # we died between fork and prctl: nobody will signal
            os.kill(os.getpid(), sig)

    return preexec


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, also when this thread already runs an event loop."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack-wait") as pool:
        return pool.submit(asyncio.run, coro).result()


async def wait_ready(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    within: float,
    check_alive: Callable[[], None],
) -> T:
    """Call `attempt` until it succeeds; fail fast if the process died, or after `within` s."""
    deadline = time.monotonic() + within
    delay = 0.02
    while True:
        check_alive()
        try:
            return await attempt()
        except Exception as exc:  # any failure here means "not ready yet"
            last = exc
        if time.monotonic() >= deadline:
            raise StackError(f"{what} was not ready after {within:.0f}s: {last!r}") from last
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)


def wait_gone(processes: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each process has exited; returns those still alive at the timeout.

    A zombie counts as gone: it holds no memory or sockets, and an orphan's reaping is up to
    whatever init this machine runs.
    """
    pending = list(processes)
    deadline = time.monotonic() + timeout
    while pending:
        pending = [p for p in pending if _alive(p)]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return pending


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
