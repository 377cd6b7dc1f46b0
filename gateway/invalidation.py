"""The response cache's eviction by events: every domain stream's subjects, whoever wrote.

Each event names what it changed: its aggregate (`ce-subject`), its engagement
(`ce-engagementid`) and the ids in its body (protobuf carries ids as plain UTF-8 strings, so
they are found without knowing the message's type, which keeps this independent of any stream's
schema). While the connection to NATS is down, events are missed: the cache is flushed and
bypassed until the subscription is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gateway.cache import ResponseCache
from mesh.events.cloudevents import ENGAGEMENT_HEADER
from mesh.events.nats import NatsConnection

log = logging.getLogger(__name__)
SUBJECTS = "weftwork.>"  # every domain stream's events
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ID_HEADERS = (ENGAGEMENT_HEADER, "ce-subject")


def event_tags(headers: Mapping[str, str] | None, body: bytes) -> set[str]:
    tags = {unquote(v) for h in _ID_HEADERS if (v := (headers or {}).get(h))}
    tags.update(m.decode() for m in _UUID.findall(body))
    return tags


class Invalidation:
    def __init__(self, cache: ResponseCache, nats: NatsConnection) -> None:
        self.cache = cache
        self.nats = nats
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.cache.max_bytes > 0 and self._task is None:
            self.nats.state_listeners.append(self._on_state)
            self._task = asyncio.create_task(self._subscribe(), name="cache-invalidation")

    async def close(self) -> None:
        self.cache.set_online(False)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _subscribe(self) -> None:
        while True:
            await self.nats.wait_connected()
            try:
                self._subscription = await self.nats.client.subscribe(SUBJECTS, cb=self._on_event)
                await self.nats.client.flush(timeout=5)  # the server has the subscription
            except Exception as exc:  # lost again meanwhile: wait for the next connection
                log.warning("cannot subscribe for cache eviction", extra={"error": repr(exc)})
                await asyncio.sleep(0.5)
                continue
            if self.nats.is_connected:
                self.cache.set_online(True)
            return

    def _on_state(self, connected: bool) -> None:
        """nats-py re-sends its subscriptions when it reconnects, before it says so."""
        if not connected:
            self.cache.set_online(False)
        elif self._subscription is not None:
            self.cache.set_online(True)

    async def _on_event(self, message: Msg) -> None:
        self.cache.evict(event_tags(message.headers, message.data), "event")
