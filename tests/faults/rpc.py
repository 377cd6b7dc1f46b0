"""gRPC calls that ride out faults: retried with the same request (and idempotency key) until
they succeed, for a bounded time; anything but a transient failure stops the run."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from mesh.retry import backoff_delay

R = TypeVar("R")
# What a crash, a restart, a pause or a bad link looks like from the caller's side. INTERNAL
# is retried too, so that one unmapped error does not stop the workload, but it is counted,
# and the run fails on it: a transient failure must reach the caller as UNAVAILABLE.
TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


class WorkloadError(AssertionError):
    """A call failed in a way no retry fixes, or kept failing past its time."""


class Caller:
    """Calls with retries; counts the calls and the transient failures by status code."""

    def __init__(self, *, call_timeout: float = 10.0, give_up_after: float = 180.0) -> None:
        self.call_timeout = call_timeout
        self.give_up_after = give_up_after
        self.calls: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()

    async def __call__(self, method: Callable[..., Awaitable[R]], request: Any, *, what: str) -> R:
        deadline = time.monotonic() + self.give_up_after
        attempt = 0
        while True:
            try:
                response = await method(request, timeout=self.call_timeout)
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if code not in TRANSIENT:
                    raise WorkloadError(f"{what}: {code.name} {error.details()}") from error
                if time.monotonic() > deadline:
                    raise WorkloadError(
                        f"{what}: still {code.name} after {self.give_up_after:.0f}s"
                    ) from error
                attempt += 1
                self.retried[code.name] += 1
                await asyncio.sleep(backoff_delay(attempt, base=0.1, cap=2.0))
                continue
            self.calls[what] += 1
            return response
