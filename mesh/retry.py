"""The one retry helper: exponential backoff with full jitter."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def backoff_delay(attempt: int, *, base: float = 0.05, cap: float = 5.0) -> float:
    """Delay before retry number `attempt` (1-based): full jitter over an exponential ceiling,
    never above `cap` however many attempts (the exponent is bounded, so it cannot overflow)."""
    return random.uniform(0, min(cap, base * 2.0 ** min(max(attempt - 1, 0), 64)))


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    retry_on: Callable[[BaseException], bool],
    attempts: int = 5,
    base: float = 0.05,
    cap: float = 5.0,
) -> T:
    """Call fn until it succeeds, retrying what retry_on accepts, at most `attempts` times."""
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:
            if attempt == attempts or not retry_on(exc):
                raise
            await asyncio.sleep(backoff_delay(attempt, base=base, cap=cap))
    raise AssertionError("unreachable")
