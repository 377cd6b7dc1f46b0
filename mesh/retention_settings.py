"""How long the kit keeps rows it only needs for a while, and how it prunes them
(mesh/retention.py; docs/faults.md "Retention")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mesh.envparse import _float, _int

WEEK = 7 * 24 * 3600.0


@dataclass(frozen=True)
class RetentionSettings:
    # Published outbox rows, inbox rows and idempotency keys are deleted once this old.
    outbox_seconds: float = WEEK  # WEFTWORK_RETENTION_OUTBOX_SECONDS
    inbox_seconds: float = WEEK  # WEFTWORK_RETENTION_INBOX_SECONDS
    idempotency_seconds: float = WEEK  # WEFTWORK_RETENTION_IDEMPOTENCY_SECONDS
    interval_seconds: float = 300.0  # WEFTWORK_PRUNE_INTERVAL_SECONDS; 0: never prune
    batch_rows: int = 1000  # WEFTWORK_PRUNE_BATCH_ROWS: rows per DELETE (one short lock each)

    @property
    def enabled(self) -> bool:
        return self.interval_seconds > 0


def _retention_settings(env: Mapping[str, str]) -> RetentionSettings:
    return RetentionSettings(
        outbox_seconds=_float(env, "WEFTWORK_RETENTION_OUTBOX_SECONDS", WEEK, low=1.0),
        inbox_seconds=_float(env, "WEFTWORK_RETENTION_INBOX_SECONDS", WEEK, low=1.0),
        idempotency_seconds=_float(env, "WEFTWORK_RETENTION_IDEMPOTENCY_SECONDS", WEEK, low=1.0),
        interval_seconds=_float(env, "WEFTWORK_PRUNE_INTERVAL_SECONDS", 300.0, low=0.0),
        batch_rows=_int(env, "WEFTWORK_PRUNE_BATCH_ROWS", 1000, low=1, high=100_000),
    )
