"""The planner on its own (no processes): counts per kind, every service killed, lanes, and
the same plan for the same seed."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from mesh.settings import SERVICES
from tests.faults.plan import (
    CI,
    FULL,
    INFRASTRUCTURE,
    KINDS,
    PROCESSES,
    Fault,
    Kind,
    Size,
    plan,
)


def planned(size: Size, seed: int = 7) -> list[Fault]:
    return plan(size, random.Random(seed), victim="billing", ack_wait=5.0)


@pytest.mark.parametrize("size", [CI, FULL], ids=["ci", "full"])
def test_the_plan_holds_as_many_faults_of_each_kind_as_the_size_says(size: Size) -> None:
    assert Counter(f.kind for f in planned(size)) == Counter(size.faults)


@pytest.mark.parametrize("size", [CI, FULL], ids=["ci", "full"])
def test_every_service_is_killed_and_the_kills_are_spread(size: Size) -> None:
    killed = Counter(s for f in planned(size) if f.kind.startswith("kill") for s in f.targets)
    assert set(killed) == set(SERVICES)
    alone = Counter(f.targets[0] for f in planned(size) if f.kind == "kill")
    assert max(alone.values()) - min(alone.values()) <= 1


def test_the_full_size_meets_the_goal() -> None:
    faults = planned(FULL)
    sigkills = sum(len(f.targets) for f in faults if f.kind.startswith("kill"))
    assert sigkills == FULL.sigkills >= 50
    assert sum(f.kind == "nats-restart" for f in faults) >= 20
    assert FULL.money_events >= 20_000


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    assert planned(FULL, 7) == planned(FULL, 7)
    assert planned(FULL, 7) != planned(FULL, 8)


def test_each_lane_is_in_order_and_holds_only_its_kinds() -> None:
    faults = planned(FULL)
    for lane in (PROCESSES, INFRASTRUCTURE):
        mine = [f for f in faults if f.lane == lane]
        assert mine, lane
        assert [f.at for f in mine] == sorted(f.at for f in mine)
        assert all(0 < f.at < 1 and f.hold >= 0 for f in mine)
    assert {f.kind for f in faults if f.lane == PROCESSES} == {"kill", "kill-two", "pause"}


def test_a_mode_can_add_a_kind_in_a_lane_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """What cluster mode does: a row in KINDS, a count in the size."""
    monkeypatch.setitem(KINDS, "node-kill", Kind("nodes", lambda rng, ctx, n: ((f"n{n % 3}",), 1)))
    faults = planned(Size(100, {"kill": 5, "node-kill": 4}))
    node_kills = Counter(f.targets[0] for f in faults if f.kind == "node-kill")
    assert node_kills == {"n0": 2, "n1": 1, "n2": 1}
    assert {f.lane for f in faults} == {PROCESSES, "nodes"}
