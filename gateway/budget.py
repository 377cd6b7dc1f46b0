"""Each principal's budget of cost points per minute: a token bucket refilled continuously."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    points: float
    updated: float


class CostBudget:
    """`per_minute` points, refilled at per_minute/60 a second; a full bucket allows a burst of
    one minute's worth. Buckets of the least recently seen principals are forgotten beyond
    `max_principals` (a forgotten principal starts again with a full bucket)."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_principals: int = 10_000,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_principals = max_principals
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, principal: str, cost: int) -> int:
        """Spend `cost` points: 0 when admitted, else the whole seconds until it would be."""
        now = self.clock()
        bucket = self._buckets.pop(principal, None) or _Bucket(self.capacity, now)
        bucket.points = min(self.capacity, bucket.points + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[principal] = bucket
        if len(self._buckets) > self.max_principals:
            self._buckets.popitem(last=False)
        if cost <= bucket.points:
            bucket.points -= cost
            return 0
        return max(1, math.ceil((min(cost, self.capacity) - bucket.points) / self.rate))
