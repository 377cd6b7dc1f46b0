"""Helpers of the hostile-request tests: a /healthz probe on its own thread, and the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx

HEALTHY_SECONDS = 0.1


@dataclass
class HealthProbe:
    """GET /healthz every 20 ms from a thread of its own (the gateway shares the test's event
    loop, so a probe on that loop could not see it stall) while a hostile request runs."""

    url: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        with httpx.Client(timeout=1.0) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    client.get(self.url).raise_for_status()
                    self.latencies.append(time.perf_counter() - started)
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                self._stop.wait(0.02)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[HealthProbe]:
        """Never block the event loop here: the gateway under test answers on it."""
        thread = threading.Thread(target=self._run, name="healthz-probe", daemon=True)
        thread.start()
        try:
            yield self
            # And after: the gateway still answers once the hostile request is over.
            deadline = time.monotonic() + 2
            seen = len(self.latencies) + len(self.failures)
            while len(self.latencies) + len(self.failures) < seen + 3:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
        finally:
            self._stop.set()
            await asyncio.to_thread(thread.join, 5)

    def assert_healthy(self) -> None:
        """Every probe answered within a second, and the median within 100 ms (the platform
        shares this process and a loaded machine, so the gateway's own work on the hostile
        requests delays some; a stalled gateway fails every probe)."""
        assert not self.failures, self.failures
        assert len(self.latencies) >= 3, self.latencies
        ordered = sorted(self.latencies)
        # How many single probes pass 100 ms says how busy the shared machine is, not whether
        # the gateway stalled: not asserted (a CI run under load once saw 3 of a few).
        assert ordered[len(ordered) // 2] <= HEALTHY_SECONDS, ordered


def healthz_url(graphql_url: str) -> str:
    return graphql_url.rsplit("/", 1)[0] + "/healthz"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def loud(self) -> list[str]:
        """What a client's mistake must never produce: a warning, an error, a traceback."""
        return [
            f"{r.name} {r.levelname}: {r.getMessage()}"
            for r in self.records
            if r.levelno >= logging.WARNING or r.exc_info
        ]


@contextlib.contextmanager
def captured_logs() -> Iterator[Records]:
    """Records of the root logger and uvicorn's own (which does not propagate)."""
    handler = Records()
    loggers = [
        logging.getLogger(),
        logging.getLogger("uvicorn"),
        logging.getLogger("uvicorn.error"),
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
