"""How far connect's consumers have got in each stream: JetStream's ack floor of each durable
consumer (every event up to that stream sequence is acknowledged, i.e. its fan-out committed).

The delivery worker sends a delivery made from the event at sequence S only once S is at or
below its stream's floor: if a killed consumer left an earlier event unacknowledged, JetStream
gives it back after ack_wait, and the deliveries of the events after it wait for it instead of
overtaking it (DESIGN.md §7: in event order per (endpoint, engagement), crashes included).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from mesh.events.nats import NatsConnection, NatsUnavailable

log = logging.getLogger(__name__)


class ConsumerFloors:
    """stream domain -> (JetStream stream, durable consumer); floors cached for `max_age` s."""

    def __init__(
        self,
        nats: NatsConnection,
        consumers: Mapping[str, tuple[str, str]],
        *,
        max_age: float = 0.05,
    ) -> None:
        self._nats = nats
        self._consumers = dict(consumers)
        self._max_age = max_age
        self._floors: dict[str, int] = {}
        self._read_at = -float("inf")

    async def floors(self) -> dict[str, int]:
        """The last known ack floor of each stream; a stream never read yet is absent (its
        deliveries wait: nothing says their events' predecessors are in)."""
        if time.monotonic() - self._read_at < self._max_age:
            return self._floors
        self._read_at = time.monotonic()
        try:
            js = self._nats.jetstream
        except NatsUnavailable:
            return self._floors
        for domain, (stream, durable) in self._consumers.items():
            try:
                info = await js.consumer_info(stream, durable)
            except Exception as exc:  # not declared yet, or NATS away: keep what we knew
                log.debug("no ack floor", extra={"consumer": durable, "error": repr(exc)})
                continue
            floor = info.ack_floor.stream_seq if info.ack_floor else 0
            self._floors[domain] = max(floor or 0, self._floors.get(domain, 0))
        return self._floors
