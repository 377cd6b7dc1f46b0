"""A durable pull consumer: declares itself, fetches batches and hands each to a BatchApplier.

The fetch loop rebinds when the consumer or stream vanishes under it and samples its lag;
what a batch does to the database (and when a message is redelivered or dead-lettered) is
mesh.events.batch and mesh.events.redelivery.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence

import asyncpg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from mesh.events.batch import BatchApplier
from mesh.events.cloudevents import SOURCE_PREFIX
from mesh.events.handlers import EventHandlers
from mesh.events.nats import NatsConnection
from mesh.events.redelivery import UNLIMITED_DELIVERIES, RedeliveryPolicy
from mesh.events.replayer import DeadLetterReplayer
from mesh.events.streams import UnsupportedServer, ensure_consumer, stream_owner
from mesh.events.wakeup import sleep_unless_stopped
from mesh.metrics import ServiceMetrics
from mesh.retry import backoff_delay

log = logging.getLogger(__name__)


class EventConsumer:
    """Consumes one stream for one service (`name` is the durable and the inbox consumer).

    Only the stream's owner may speak on it: an event whose ce-source is not
    /weftwork/<domain> of the stream <DOMAIN> is dead-lettered unapplied (DESIGN.md §6).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        nats: NatsConnection,
        *,
        name: str,
        stream: str,
        handlers: EventHandlers,
        batch_size: int = 256,
        max_deliver: int = 8,
        ack_wait: float = 30.0,
        fetch_wait: float = 1.0,
        redelivery_base: float = 0.5,
        redelivery_cap: float = 60.0,
        replay_poll_interval: float = 5.0,
        consumer_check_interval: float = 30.0,
        lag_sample_interval: float = 5.0,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        policy = RedeliveryPolicy(max_deliver, redelivery_base, redelivery_cap)
        self._nats = nats
        self.name = name
        self.stream = stream
        self.owner = SOURCE_PREFIX + stream_owner(stream)
        self._handlers = handlers
        self._batch_size = batch_size
        self._ack_wait = ack_wait
        self._fetch_wait = fetch_wait
        self._consumer_check_interval = consumer_check_interval
        self._lag_sample_interval = lag_sample_interval
        self._lag_sampled_at = -math.inf
        self._metrics = ServiceMetrics() if metrics is None else metrics
        self.batches = BatchApplier(
            pool,
            consumer=name,
            stream=stream,
            owner=self.owner,
            handlers=handlers,
            policy=policy,
            metrics=self._metrics,
        )
        self.replayer = DeadLetterReplayer(
            pool,
            consumer=name,
            stream=stream,
            owner=self.owner,
            handlers=handlers,
            poll_interval=replay_poll_interval,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until stop is set, replaying requested dead letters alongside."""
        replaying = asyncio.create_task(self.replayer.run(stop), name=f"replay-{self.name}")
        try:
            await self._consume(stop)
        finally:
            if not replaying.done():
                replaying.cancel()
            await asyncio.gather(replaying, return_exceptions=True)

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Apply a fetched batch in one transaction, then acknowledge or redeliver each message."""
        await self.batches.handle(messages)

    async def _consume(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            subscription = await self._subscribe(stop)
            if subscription is None:
                return
            try:
                idle_since = time.monotonic()
                await self._sample_lag(subscription)
                while not stop.is_set():
                    try:
                        messages = await subscription.fetch(
                            self._batch_size, timeout=self._fetch_wait
                        )
                    except TimeoutError:  # nothing to do (or NATS is reconnecting)
                        await self._sample_lag(subscription)
                        if time.monotonic() - idle_since > self._consumer_check_interval:
                            # Servers before 2.10 leave a pull on a deleted consumer silent;
                            # asking now and then turns that into NotFoundError and a rebind.
                            idle_since = time.monotonic()
                            await subscription.consumer_info()
                        continue
                    failures = 0
                    idle_since = time.monotonic()
                    await self.handle_batch(messages)
            except Exception as exc:
                # E.g. the consumer was deleted or the stream recreated: declare and bind again.
                failures += 1
                log.warning("fetch failed", extra={"consumer": self.name, "error": repr(exc)})
                await sleep_unless_stopped(stop, backoff_delay(failures, base=0.1, cap=5.0))
            finally:
                try:
                    await subscription.unsubscribe()
                except Exception as exc:
                    log.debug("unsubscribe failed", extra={"error": repr(exc)})

    async def _subscribe(self, stop: asyncio.Event) -> JetStreamContext.PullSubscription | None:
        """Declare the durable consumer and bind to it, retrying until NATS lets us."""
        failures = 0
        while not stop.is_set():
            if not await self._nats.wait_connected(self._fetch_wait):
                continue
            js = self._nats.jetstream
            try:
                info = await js.stream_info(self.stream)
                subjects = self._handlers.within(info.config.subjects or [])
                if not subjects:
                    raise ValueError(f"no handler of {self.name} is for a subject of {self.stream}")
                await ensure_consumer(
                    js,
                    self.stream,
                    self.name,
                    subjects,
                    ack_wait=self._ack_wait,
                    max_deliver=UNLIMITED_DELIVERIES,
                )
                return await js.pull_subscribe_bind(durable=self.name, stream=self.stream)
            except (ValueError, UnsupportedServer):
                raise  # a wiring or deployment mistake; retrying will not fix it
            except Exception as exc:
                failures += 1
                log.warning(
                    "cannot bind consumer yet",
                    extra={"consumer": self.name, "stream": self.stream, "error": repr(exc)},
                )
                await sleep_unless_stopped(stop, backoff_delay(failures, base=0.2, cap=10.0))
        return None

    async def _sample_lag(self, subscription: JetStreamContext.PullSubscription) -> None:
        """Pending and ack-pending from JetStream's consumer info, every few idle seconds."""
        if time.monotonic() - self._lag_sampled_at < self._lag_sample_interval:
            return
        self._lag_sampled_at = time.monotonic()
        try:
            info = await subscription.consumer_info()
        except Exception as exc:  # the periodic consumer check decides about rebinding
            log.debug("consumer lag not sampled", extra={"consumer": self.name, "error": repr(exc)})
            return
        self.record_lag(info)

    def record_lag(self, info: ConsumerInfo) -> None:
        self._metrics.consumer_pending.labels(self.name).set(info.num_pending or 0)
        self._metrics.consumer_ack_pending.labels(self.name).set(info.num_ack_pending or 0)
