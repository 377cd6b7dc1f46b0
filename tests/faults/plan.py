"""The plan of a run: which faults, on what, when and for how long, all from the seed.

Each kind of fault is a row of KINDS: the lane it runs in and its planner (targets and hold
of its n-th fault). A size names how many of each kind a run injects; the plan is a list of
Fault(kind, targets, at, hold). The two lanes run side by side, each one fault after another:
"processes" (kills, pauses) and "infrastructure" (NATS and PostgreSQL restarts, link faults).
Another mode adds its own kinds to KINDS (with an injector of its own, see Kind.inject).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from mesh.settings import SERVICES
from tests.faults import nats_cluster
from tests.faults.cluster import PEERED

PROCESSES, INFRASTRUCTURE = "processes", "infrastructure"
LINKS = ("nats", "postgres")
MODES = ("latency", "blackhole", "reset")


@dataclass(frozen=True)
class Context:
    victim: str  # the service whose links go through the proxy
    ack_wait: float  # a paused consumer's messages go to its peer after this
    kind: str = ""  # the kind being planned


# The n-th fault of a kind: its targets and how long it is held (seconds).
Planner = Callable[[random.Random, Context, int], tuple[tuple[str, ...], float]]


@dataclass(frozen=True)
class Kind:
    lane: str
    planner: Planner
    # How to inject it, for a kind the Injector does not know (called with it and the fault).
    inject: Callable[[Any, Fault], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Fault:
    kind: str
    targets: tuple[str, ...]  # the services (or peer instances) it hits
    at: float  # progress of the workload (0..1) when it may start
    hold: float  # how long it lasts, in seconds

    @property
    def lane(self) -> str:
        return KINDS[self.kind].lane

    @property
    def name(self) -> str:
        """What the table calls it: "kill billing", "nats-latency project", "nats-restart"."""
        if self.kind.endswith("restart"):
            return self.kind
        return f"{self.kind} {'+'.join(self.targets)}"

    def __str__(self) -> str:
        return f"{self.name} at {self.at:.0%} for {self.hold:.1f}s"


def _kill(rng: random.Random, ctx: Context, n: int) -> tuple[tuple[str, ...], float]:
    """Round robin over the services (every one is hit as often as the others, ±1)."""
    return (SERVICES[n % len(SERVICES)],), rng.uniform(0, 1.5)


def _kill_two(rng: random.Random, ctx: Context, n: int) -> tuple[tuple[str, ...], float]:
    return tuple(sorted(rng.sample(SERVICES, 2))), rng.uniform(0, 1.5)


def _nats(rng: random.Random, ctx: Context, n: int) -> tuple[tuple[str, ...], float]:
    return ("nats",), rng.uniform(0.5, 2)


def _postgres(rng: random.Random, ctx: Context, n: int) -> tuple[tuple[str, ...], float]:
    return ("postgres",), 0.0


def _pause(rng: random.Random, ctx: Context, n: int) -> tuple[tuple[str, ...], float]:
    return (f"{rng.choice(PEERED)}-peer",), ctx.ack_wait + rng.uniform(2, 4)


def _node(rng: random.Random, ctx: Context, n: int) -> tuple[tuple[str, ...], float]:
    return nats_cluster.draw(ctx.kind, rng)


def _link(rng: random.Random, ctx: Context, n: int) -> tuple[tuple[str, ...], float]:
    return (ctx.victim,), rng.uniform(2, 5)


KINDS: dict[str, Kind] = {
    "kill": Kind(PROCESSES, _kill),
    "kill-two": Kind(PROCESSES, _kill_two),
    "pause": Kind(PROCESSES, _pause),
    "nats-restart": Kind(INFRASTRUCTURE, _nats),
    "postgres-restart": Kind(INFRASTRUCTURE, _postgres),
    **{f"{link}-{mode}": Kind(INFRASTRUCTURE, _link) for link in LINKS for mode in MODES},
    # Cluster mode's node faults (tests/faults/nats_cluster.py), in place of NATS restarts.
    **{kind: Kind(INFRASTRUCTURE, _node) for kind in nats_cluster.KINDS},
}
LINK_FAULTS = [f"{link}-{mode}" for link in LINKS for mode in MODES]


@dataclass(frozen=True)
class Size:
    money_events: int  # at least, over the run
    faults: dict[str, int] = field(default_factory=dict)  # kind: how many
    hooks_every: int = 4  # delivery rounds per batch of inbound webhooks (connect)
    max_backlog: int = 2_000  # events the consumers may fall behind before the workload waits

    @property
    def sigkills(self) -> int:
        return self.faults.get("kill", 0) + 2 * self.faults.get("kill-two", 0)


CI = Size(
    1_000,
    {"kill": len(SERVICES), "kill-two": 1, "pause": 1, "nats-restart": 2,
     "postgres-restart": 1, **dict.fromkeys(LINK_FAULTS, 1)},
    max_backlog=500,  # less piles up while the faults run: a shorter drain
)  # fmt: skip
FULL = Size(
    20_000,
    {"kill": 40, "kill-two": 8, "pause": 3, "nats-restart": 20,
     "postgres-restart": 3, **dict.fromkeys(LINK_FAULTS, 1)},
)  # fmt: skip


def clustered(size: Size) -> Size:
    """Cluster mode: the size's NATS restarts become node faults, the kinds in turn."""
    faults = dict(size.faults)
    n = nats_cluster.node_fault_count(faults.pop("nats-restart", 0))
    return replace(size, faults={**faults, **nats_cluster.counts(n)})


def plan(
    size: Size, rng: random.Random, *, victim: str, ack_wait: float, cluster: bool = False
) -> list[Fault]:
    """Every fault of the run; each lane's in a seeded random order, spread over the workload."""
    if cluster:
        size = clustered(size)
    faults: list[Fault] = []
    for lane in dict.fromkeys(KINDS[kind].lane for kind in size.faults):
        drawn: list[tuple[str, tuple[str, ...], float]] = []
        for kind, count in size.faults.items():
            if KINDS[kind].lane == lane:
                ctx = Context(victim, ack_wait, kind)
                drawn += [(kind, *KINDS[kind].planner(rng, ctx, n)) for n in range(count)]
        rng.shuffle(drawn)
        starts = sorted(rng.uniform(0.02, 0.9) for _ in drawn)
        faults += [Fault(k, t, at, hold) for (k, t, hold), at in zip(drawn, starts, strict=True)]
    return faults
