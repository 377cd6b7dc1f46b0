"""Child-process plumbing shared by the embedded servers and the supervisor."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import psutil

from devstack.errors import StackError

T = TypeVar("T")


# Runs in a fresh single-threaded interpreter between fork and the real exec: switch user (a
# credential change clears the parent-death signal, so it comes first), ask for the signal,
# make sure the parent has not already gone, give back the two signals Python ignores (an
# ignored signal stays ignored across exec), and exec the command.
_EXEC_DYING_WITH_PARENT = """\
import ctypes, os, signal, sys
sig, parent, uid, gid = (int(a) for a in sys.argv[1:5])
if gid >= 0:
    os.setgroups([])
    os.setgid(gid)
if uid >= 0:
    os.setuid(uid)
if sys.platform.startswith("linux"):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(1, sig, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
for ignored in (signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(ignored, signal.SIG_DFL)
os.execv(sys.argv[5], sys.argv[5:])
"""


def dying_with_parent(
    command: Sequence[str],
    sig: int = signal.SIGTERM,
    *,
    user: int | None = None,
    group: int | None = None,
) -> list[str]:
    """`command` behind a tiny exec wrapper that has Linux send it `sig` when we die.

    Pass the result to subprocess/asyncio as the command, with no `preexec_fn`: Python code
    run between fork and exec in a process with other threads (gRPC's, a proxy's) can crash
    or hang the child. The wrapper is a fresh `python -I -S` that sets the signal, then execs
    `command` (so its pid is the command's). It also switches to `user`/`group` if given (use
    these instead of Popen's, which would clear the signal). The kernel sends the signal when
    the *thread* that spawned the child exits, so spawn from a long-lived thread. The program
    is looked up on our PATH.
    """
    if not sys.executable:
        raise StackError("no Python interpreter to run the exec wrapper with")
    # Found here, on our PATH, so that a missing program fails the spawn as it would unwrapped.
    program = shutil.which(command[0])
    if program is None:
        raise FileNotFoundError(errno.ENOENT, "no such program", command[0])
    ids = [str(-1 if user is None else user), str(-1 if group is None else group)]
    wrapper = [sys.executable, "-I", "-S", "-c", _EXEC_DYING_WITH_PARENT]
    return [*wrapper, str(int(sig)), str(os.getpid()), *ids, program, *command[1:]]


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


def reserve_port(host: str = "127.0.0.1") -> socket.socket:
    """A free port held for a child process to listen on: bind the returned socket's port
    (getsockname()[1]) in the child, keep the socket open as long as the child may (re)bind
    it, then close it.

    The socket is bound (SO_REUSEADDR) but never listens. Linux then hands that port to no
    port-0 bind and to no outgoing connection (inet_csk_find_open_port and
    __inet_hash_connect skip a bound port), so nobody can take it in between, unlike a port
    bound, closed and handed out; while a server that binds it by number with SO_REUSEADDR (gRPC,
    uvicorn, Go's net.Listen all do) may listen on it, again after a restart.
    """
    reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reservation.bind((host, 0))
    except OSError:
        reservation.close()
        raise
    return reservation
