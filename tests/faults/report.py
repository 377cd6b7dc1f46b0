"""The table a run prints: faults injected, events, lost, duplicated (and what stood out)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from tests.faults.checker import Findings

NATS_FAULTS = ("nats-restart", "node-")  # "node-": a cluster's node kills and restarts


@dataclass(frozen=True)
class Run:
    seed: int
    size: str
    victim: str
    injected: Counter[str]
    pauses_redelivered: int  # pauses after which a live peer applied what the paused one held
    findings: Findings
    retried: Counter[str]  # transient gRPC failures the driver rode out, by status
    unexpected_exits: dict[str, list[int]]
    seconds: float
    drain_seconds: float
    sigkills: Counter[str] = field(default_factory=Counter)  # by service
    recovery: dict[str, list[float]] = field(default_factory=dict)  # seconds, by fault kind
    cpu_seconds: float = 0.0  # every process the launcher started
    driver_cpu_seconds: float = 0.0  # the test process: workload, injector, checker

    @property
    def nats_faults(self) -> int:
        return sum(n for kind, n in self.injected.items() if kind.startswith(NATS_FAULTS))


def render(run: Run) -> str:
    f = run.findings
    money = f.money_events
    lines = [
        f"weftwork faults  seed={run.seed}  size={run.size}  network faults on: {run.victim}"
        f"  {run.seconds:.0f}s (drain {run.drain_seconds:.0f}s)",
        "",
        f"{'fault':<28}{'injected':>9}",
        *(f"{kind:<28}{n:>9,}" for kind, n in sorted(run.injected.items())),
        f"{'faults injected':<28}{sum(run.injected.values()):>9,}",
        f"(pauses that moved messages to the live peer: {run.pauses_redelivered})",
        "",
        f"{'SIGKILLs':<28}{sum(run.sigkills.values()):>9,}   "
        + ", ".join(f"{s} {n}" for s, n in sorted(run.sigkills.items())),
        f"{'NATS faults':<28}{run.nats_faults:>9,}",
        "",
        f"{'recovery (s)':<22}{'n':>5}{'median':>8}{'max':>8}",
        *(
            f"{kind:<22}{len(t):>5}{statistics.median(t):>8.1f}{max(t):>8.1f}"
            for kind, t in sorted(run.recovery.items())
            if t
        ),
        "",
        f"{'events (every outbox)':<28}{sum(f.events.values()):>9,}",
        f"{'money events':<28}{sum(money.values()):>9,}",
        *(f"{'  ' + kind:<28}{n:>9,}" for kind, n in sorted(money.items())),
        f"{'lost':<28}{sum(f.lost.values()):>9,}",
        f"{'duplicated':<28}{sum(f.duplicated.values()):>9,}",
        "",
        f"{'consumer':<20}{'events':>9}{'applied':>9}{'lost':>7}",
        *(
            f"{name:<20}{expected:>9,}{applied:>9,}{expected - applied:>7,}"
            for name, (expected, applied) in f.deliveries.items()
        ),
        "",
        f"CPU seconds: {run.cpu_seconds:,.0f} platform (services, PostgreSQL, NATS),"
        f" {run.driver_cpu_seconds:,.0f} driver (workload, faults, checks)",
        "driver retries (transient gRPC failures): "
        + (", ".join(f"{code} {n}" for code, n in sorted(run.retried.items())) or "none"),
        "processes that exited on their own (restarted): "
        + (", ".join(f"{k} {v}" for k, v in run.unexpected_exits.items()) or "none"),
    ]
    lines += [f"note: {n}" for n in f.notes]
    lines += [f"PROBLEM: {p}" for p in f.problems]
    return "\n".join(lines)
