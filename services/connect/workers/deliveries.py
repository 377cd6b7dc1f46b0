"""The delivery worker: claims due deliveries FOR UPDATE SKIP LOCKED, makes them, records.

Woken by NOTIFY on `connect_deliveries` with a polling fallback, like the receipt worker.
The claim is the transaction: a worker killed after a receiver got a delivery but before
the commit leaves it PENDING, and it is made again with the same webhook-id (at least once;
receivers dedupe). Several lanes run side by side so one slow receiver holds up only its own
batch; the ordered claim (store/deliveries.py) keeps each (target, engagement) in order, and
the consumers' ack floors (adapters/floors.py) keep it so when a killed consumer's events come
back after later ones: a delivery is sent only once every event before its own is in.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import asyncpg

from mesh.audit.log import audited_work
from mesh.events.wakeup import Wakeup, sleep_unless_stopped
from mesh.retry import backoff_delay
from services.connect.handlers.deliveries import Delivering, deliver_due
from services.connect.store import ConnectStore
from services.connect.store.deliveries import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Floors(Protocol):
    async def floors(self) -> dict[str, int]:
        """Stream domain -> the sequence up to which its consumer acknowledged every event."""
        ...


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        p: Delivering,
        *,
        batch_size: int,
        lanes: int,
        poll_interval: float,
        floors: Floors,
        held_interval: float = 0.05,
    ) -> None:
        self.pool = pool
        self.p = p
        self.floors = floors
        self.held_interval = min(held_interval, poll_interval)
        self.batch_size = batch_size
        self.lanes = lanes
        self.poll_interval = poll_interval

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self.pool, NOTIFY_CHANNEL)
        listening = asyncio.create_task(wakeup.run(stop), name="deliveries-listen")
        try:
            await asyncio.gather(*(self._lane(stop, wakeup) for _ in range(self.lanes)))
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def _lane(self, stop: asyncio.Event, wakeup: Wakeup) -> None:
        failures = 0
        while not stop.is_set():
            wakeup.clear()
            try:
                done = await self.deliver_due()
            except Exception as exc:
                failures += 1
                log.warning("delivery batch failed; will retry", extra={"error": repr(exc)})
                await sleep_unless_stopped(stop, backoff_delay(failures, base=0.1, cap=5.0))
                continue
            failures = 0
            if done == 0:  # after any work, look again: its successors may be due now
                # A delivery waiting for its consumer's ack (which follows the fan-out's
                # commit by a moment) is looked at again soon, not at the next poll.
                held = await self._held()
                await wakeup.wait(stop, self.held_interval if held else self.poll_interval)

    async def deliver_due(self) -> int:
        """One batch in one transaction; returns how many deliveries it attempted."""
        floors = await self.floors.floors()
        async with (
            self.pool.acquire() as conn,
            conn.transaction(),
            audited_work(conn, "connect", "connect.deliveries.deliver"),
        ):
            return await deliver_due(self.p, ConnectStore(conn), self.batch_size, floors)

    async def _held(self) -> bool:
        try:
            floors = await self.floors.floors()
            async with self.pool.acquire() as conn:
                return await ConnectStore(conn).deliveries_held(floors)
        except Exception as exc:
            log.debug("held deliveries not counted", extra={"error": repr(exc)})
            return False
