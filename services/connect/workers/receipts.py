"""The receipt worker: claims due receipts FOR UPDATE SKIP LOCKED, processes, records.

Woken by NOTIFY on `connect_receipts` (mesh.events.wakeup, as the outbox relay is) with a
polling fallback. The claim is the transaction: a worker killed mid-batch releases its rows
with its connection and the next one takes them; project is idempotent on (source,
opportunity id), so a receipt whose engagement was created just before the kill finds the
same engagement and is recorded once.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from mesh.audit.log import audited_work
from mesh.events.wakeup import Wakeup, sleep_unless_stopped
from mesh.retry import backoff_delay
from services.connect.handlers import processing
from services.connect.store import ConnectStore
from services.connect.store.receipts import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class ReceiptWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        p: processing.Processing,
        *,
        batch_size: int,
        poll_interval: float,
    ) -> None:
        self.pool = pool
        self.p = p
        self.batch_size = batch_size
        self.poll_interval = poll_interval

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self.pool, NOTIFY_CHANNEL)
        listening = asyncio.create_task(wakeup.run(stop), name="receipts-listen")
        failures = 0
        try:
            while not stop.is_set():
                wakeup.clear()
                try:
                    done = await self.process_due()
                except Exception as exc:
                    failures += 1
                    log.warning("receipt batch failed; will retry", extra={"error": repr(exc)})
                    await sleep_unless_stopped(stop, backoff_delay(failures, base=0.1, cap=5.0))
                    continue
                failures = 0
                if done < self.batch_size:
                    await wakeup.wait(stop, self.poll_interval)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def process_due(self) -> int:
        """One batch in one transaction; returns how many receipts it settled or rescheduled."""
        async with (
            self.pool.acquire() as conn,
            conn.transaction(),
            audited_work(conn, "connect", "connect.receipts.process"),
        ):
            store = ConnectStore(conn)
            receipts = await store.claim_due_receipts(self.batch_size)
            if not receipts:
                return 0
            sources = await store.get_sources([r.source for r in receipts])
            # Calls to project and the CRM run side by side; the writes then go one by one.
            outcomes = await asyncio.gather(
                *(processing.decide(self.p, sources.get(r.source), r) for r in receipts)
            )
            settled = [
                (receipt, await processing.record(store, self.p, receipt, outcome))
                for receipt, outcome in zip(receipts, outcomes, strict=True)
            ]
            await store.save_receipts(settled)
        return len(receipts)
