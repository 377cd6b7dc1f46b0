"""Deliveries: one event (or one status write-back) for one target, sent at least once.

The retry rule (DESIGN.md §7): 2xx delivers; other 4xx (but 408, 425 and 429) stop at once,
because a retry cannot fix a request the receiver refuses; everything else (5xx, 429, a
timeout, a reset) is tried again with exponential backoff and full jitter (mesh.retry), or
after the receiver's `Retry-After` on 429/503, for as long as the retry window lasts (at
least 24 h in production). The attempt that would fall outside the window is not made: the
delivery is FAILED, listed, and replayable.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from mesh.retry import backoff_delay

MAX_ERROR = 500
RETRYABLE_4XX = frozenset({408, 425, 429})
HONOURS_RETRY_AFTER = frozenset({429, 503})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DeliveryStatus(enum.Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class TargetKind(enum.Enum):
    WEBHOOK = "WEBHOOK"
    HUBSPOT = "HUBSPOT"
    SALESFORCE = "SALESFORCE"


@dataclass
class Delivery:
    id: uuid.UUID
    target_kind: TargetKind
    target_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    event_time: dt.datetime
    subject: str
    engagement_id: str
    order_key: str
    payload: dict[str, Any]
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_status: int = 0
    last_error: str = ""
    next_attempt_at: dt.datetime = field(default_factory=_now)
    window_start: dt.datetime = field(default_factory=_now)
    version: int = 1
    created_at: dt.datetime = field(default_factory=_now)
    delivered_at: dt.datetime | None = None
    seq: int = 0
    # The stream domain and sequence of the event it was made from ("" and 0: not gated; see
    # services/connect/adapters/floors.py): sent only once its consumer acknowledged that far.
    stream: str = ""
    stream_seq: int = 0


@dataclass(frozen=True)
class Attempt:
    """What one try got: the HTTP status (0 when no answer came) and why it was not a 2xx."""

    status: int
    error: str = ""
    retry_after: float | None = None
    # A 4xx that still passes: Salesforce's 403 REQUEST_LIMIT_EXCEEDED is a rate limit.
    transient: bool = False

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300

    @property
    def permanent(self) -> bool:
        return 400 <= self.status < 500 and self.status not in RETRYABLE_4XX and not self.transient


@dataclass(frozen=True)
class RetryPolicy:
    window_seconds: float  # how long after the first attempt retries go on
    base_seconds: float  # the first retry's ceiling; doubles per attempt
    cap_seconds: float  # the longest wait between two attempts
    retry_after_cap_seconds: float = 86_400.0  # a receiver cannot park us for longer

    def delay(self, attempts: int, attempt: Attempt) -> float:
        if attempt.status in HONOURS_RETRY_AFTER and attempt.retry_after is not None:
            return min(max(attempt.retry_after, 0.0), self.retry_after_cap_seconds)
        return backoff_delay(attempts, base=self.base_seconds, cap=self.cap_seconds)


@dataclass(frozen=True)
class Outcome:
    """What a delivery became after an attempt: DELIVERED, FAILED, or PENDING after `retry_in`."""

    status: DeliveryStatus
    retry_in: float = 0.0


def settle(d: Delivery, attempt: Attempt, policy: RetryPolicy, now: dt.datetime) -> Outcome:
    """Applies one attempt to the delivery and says what it became."""
    d.attempts += 1
    d.last_status = attempt.status
    d.last_error = attempt.error[:MAX_ERROR]
    d.version += 1
    if attempt.delivered:
        d.status = DeliveryStatus.DELIVERED
        d.delivered_at = now
        return Outcome(DeliveryStatus.DELIVERED)
    if attempt.permanent:
        d.status = DeliveryStatus.FAILED
        return Outcome(DeliveryStatus.FAILED)
    retry_in = policy.delay(d.attempts, attempt)
    deadline = d.window_start + dt.timedelta(seconds=policy.window_seconds)
    if now + dt.timedelta(seconds=retry_in) > deadline:
        d.status = DeliveryStatus.FAILED
        return Outcome(DeliveryStatus.FAILED)
    d.next_attempt_at = now + dt.timedelta(seconds=retry_in)
    return Outcome(DeliveryStatus.PENDING, retry_in)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())
