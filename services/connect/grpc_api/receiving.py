"""Webhook intake as the servicer runs it: sources cached for a moment, and the receipts of
concurrent requests written in one transaction.

A commit is the cost of a receipt (LIMITS.md: one row per transaction is fsync-bound), so
requests that arrive while a transaction is in flight wait for the next one and share it:
an idle service writes each request at once, a busy one writes them in batches. Every
request is answered only after its own receipts are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mesh.db import is_retryable
from mesh.retry import retry
from services.connect.domain.intake import HookAnswer, RawHook, Refused
from services.connect.domain.model import InboundSource, IncomingEvent
from services.connect.handlers import intake
from services.connect.handlers.ports import SecretBox, Transact

SOURCE_TTL = 1.0  # seconds a source (or its absence) is remembered; other replicas' updates
MAX_BATCH = 128  # requests per transaction
WRITERS = 2  # transactions in flight at once


@dataclass
class _Pending:
    source: InboundSource
    events: Sequence[IncomingEvent]
    answer: asyncio.Future[HookAnswer]


class WebhookIntake:
    def __init__(self, read: Transact[Any], transact: Transact[Any], box: SecretBox) -> None:
        self.read = read
        self.transact = transact
        self.box = box
        # name -> (expiry, source and its opened secret, or None for no such source)
        self._sources: dict[str, tuple[float, tuple[InboundSource, str] | None]] = {}
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writers: list[asyncio.Task[None]] = []

    async def receive(self, hook: RawHook, *, now_ms: int) -> HookAnswer:
        """Look the source up, verify outside any transaction, then store and answer."""
        found = await self._source(hook.source)
        if found is None or not found[0].enabled:
            return intake.not_found(hook.source)
        source, secret = found
        try:
            events = intake.verified_events(source, secret, hook, now_ms=now_ms)
        except Refused as refused:
            return intake.refusal(source, refused)
        return await self._store(source, events)

    def forget(self, name: str) -> None:
        """A source changed here: the next request reads it again."""
        self._sources.pop(name, None)

    async def _source(self, name: str) -> tuple[InboundSource, str] | None:
        """The source and its secret, opened once per SOURCE_TTL rather than per request."""
        cached = self._sources.get(name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        source: InboundSource | None = await self.read(lambda repo: repo.get_source(name))
        found = None if source is None else (source, intake.opened_secret(source, self.box))
        if len(self._sources) > 1000:  # unknown names from strangers must not grow it forever
            self._sources.clear()
        self._sources[name] = (time.monotonic() + SOURCE_TTL, found)
        return found

    async def _store(self, source: InboundSource, events: Sequence[IncomingEvent]) -> HookAnswer:
        if not self._writers:
            self._writers = [asyncio.create_task(self._write()) for _ in range(WRITERS)]
        pending = _Pending(source, events, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(pending)
        return await pending.answer

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                answers = await self._commit([(p.source, p.events) for p in batch])
            except Exception as exc:  # each caller gets the failure (the gateway answers 503)
                for p in batch:
                    if not p.answer.done():
                        p.answer.set_exception(exc)
                continue
            for p, answer in zip(batch, answers, strict=True):
                if not p.answer.done():
                    p.answer.set_result(answer)

    async def _commit(
        self, requests: list[tuple[InboundSource, Sequence[IncomingEvent]]]
    ) -> list[HookAnswer]:
        # One statement commits on its own: `read` runs it on a connection, outside a
        # transaction (BEGIN and COMMIT would be two more round trips per batch).
        answers: list[HookAnswer] = await retry(
            lambda: self.read(lambda repo: intake.store_receipts(repo, requests)),
            retry_on=is_retryable,
            attempts=5,
        )
        return answers

    async def close(self) -> None:
        for task in self._writers:
            task.cancel()
        for task in self._writers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
