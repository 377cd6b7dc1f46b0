"""Load runs and their summaries: rates, and nearest-rank percentiles in milliseconds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def quantile_ms(seconds: Sequence[float], q: float) -> float:
    """The nearest-rank q-quantile of durations in seconds, in milliseconds (NaN if none)."""
    if not seconds:
        return float("nan")
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def latencies_ms(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50": quantile_ms(seconds, 0.50),
        "p99": quantile_ms(seconds, 0.99),
        "max": max(seconds) * 1000 if seconds else float("nan"),
    }


@dataclass
class LoadRun:
    """One bounded run of a closed-loop load: each caller sends again once answered."""

    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of the successful requests
    failures: int = 0
    first_failure: str = ""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def summarize(runs: Sequence[LoadRun]) -> dict[str, Any]:
    """Medians over the runs of the rate, p50 and p99; failures added up."""
    return {
        "rate": statistics.median(r.rate for r in runs),
        "p50_ms": statistics.median(quantile_ms(r.latencies, 0.50) for r in runs),
        "p99_ms": statistics.median(quantile_ms(r.latencies, 0.99) for r in runs),
        "requests": sum(len(r.latencies) for r in runs),
        "failures": sum(r.failures for r in runs),
        "first_failure": next((r.first_failure for r in runs if r.first_failure), ""),
    }
