"""Wake a worker on PostgreSQL NOTIFY, and let it poll anyway in case a notification is missed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from mesh.retry import backoff_delay

log = logging.getLogger(__name__)


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Wakeup:
    """LISTENs on one channel through a connection it holds from the pool while running.

    Notifications are only a latency optimisation: they are lost while the connection is
    down, which is why every waiter also wakes after its poll interval.
    """

    def __init__(self, pool: asyncpg.Pool, channel: str) -> None:
        self._pool = pool
        self._channel = channel
        self._notified = asyncio.Event()

    def clear(self) -> None:
        self._notified.clear()

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        """Return on a notification, on stop, or after `seconds`, whichever comes first."""
        notified = asyncio.ensure_future(self._notified.wait())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait(
                {notified, stopped}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            notified.cancel()
            stopped.cancel()

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self._listen_until_lost(stop)
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning(
                    "LISTEN connection failed; polling meanwhile",
                    extra={"channel": self._channel, "error": repr(exc)},
                )
                await sleep_unless_stopped(stop, backoff_delay(failures, base=0.5, cap=30.0))

    async def _listen_until_lost(self, stop: asyncio.Event) -> None:
        lost = asyncio.Event()

        def on_notification(*_: object) -> None:
            self._notified.set()

        def on_termination(*_: object) -> None:
            lost.set()

        async with self._pool.acquire() as conn:
            conn.add_termination_listener(on_termination)
            await conn.add_listener(self._channel, on_notification)
            # Anything committed while we were not listening is caught by this one extra pass.
            self._notified.set()
            try:
                await _first_of(stop, lost)
            finally:
                conn.remove_termination_listener(on_termination)
                if not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.remove_listener(self._channel, on_notification)


async def _first_of(first: asyncio.Event, second: asyncio.Event) -> None:
    waiters = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
