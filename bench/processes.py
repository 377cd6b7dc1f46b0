"""Processes the benchmark starts, stopped whatever happens, and what they use (RSS, CPU)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from devstack.process import dying_with_parent, log_tail


class BenchError(RuntimeError):
    """The platform did not start, or a phase did not finish within its bound."""


@dataclass
class Child:
    """A process we started: stopped with SIGTERM, then SIGKILL, always."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, grace: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(
                f"{self.name} exited with {self.proc.returncode}; {self.log}:\n{log_tail(self.log)}"
            )


def spawn(name: str, args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Child:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            dying_with_parent(args, signal.SIGKILL),  # nothing outlives a killed bench
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    return Child(name, proc, log)


class MemorySampler:
    """Samples each process's RSS in a thread, keeping the peak per named window and over the
    whole run. PostgreSQL is the sum of PSS over the postmaster and its backends: their RSS
    would count the shared buffers once per backend."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.pids: dict[str, int] = {}
        self.whole: dict[str, int] = {}
        self.windows: dict[str, dict[str, int]] = {}
        self._open: set[str] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[None]:
        with self._lock:
            self.windows.setdefault(name, {})
            self._open.add(name)
        try:
            yield
        finally:
            with self._lock:
                self._open.discard(name)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            sample = {
                name: _tree_pss(pid) if name == "postgres" else _rss(pid)
                for name, pid in self.pids.items()
            }
            with self._lock:
                for peaks in [self.whole, *(self.windows[w] for w in self._open)]:
                    for name, rss in sample.items():
                        peaks[name] = max(peaks.get(name, 0), rss)


def _rss(pid: int) -> int:
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def cpu_seconds(pid: int, with_children: bool) -> float:
    total = 0.0
    try:
        process = psutil.Process(pid)
        for member in [process, *(process.children(recursive=True) if with_children else [])]:
            with contextlib.suppress(psutil.Error):
                times = member.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        pass
    return total


def _tree_pss(pid: int) -> int:
    total = 0
    try:
        process = psutil.Process(pid)
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += member.memory_full_info().pss
    except psutil.Error:
        pass
    return total
