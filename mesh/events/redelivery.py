"""When a failing event comes back, and when a consumer stops trying and dead-letters it."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.retry import backoff_delay

# The server-side delivery limit is lifted on purpose: JetStream simply stops redelivering a
# message at max_deliver, so a last delivery whose dead-letter insert could not commit (the
# database was down) would be lost. RedeliveryPolicy.max_deliver decides when to dead-letter.
UNLIMITED_DELIVERIES = -1


@dataclass(frozen=True)
class RedeliveryPolicy:
    """A nak'ed message returns after a growing delay; its max_deliver-th failure is its last."""

    max_deliver: int = 8
    base: float = 0.5
    cap: float = 60.0

    def __post_init__(self) -> None:
        if self.max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")

    def is_last(self, deliveries: int) -> bool:
        """True when a message failing on this delivery goes to the dead letters."""
        return deliveries >= self.max_deliver

    def delay(self, deliveries: int) -> float:
        """Seconds before JetStream delivers the message again."""
        return backoff_delay(deliveries, base=self.base, cap=self.cap)
