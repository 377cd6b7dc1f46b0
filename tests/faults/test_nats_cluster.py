"""The cluster mode's node-fault plan (tests/faults/nats_cluster.py): no servers, fast."""

from __future__ import annotations

import random
from collections import Counter

from devstack.nats_cluster import NODES, node_name
from mesh.settings import SERVICES
from tests.faults import nats_cluster
from tests.faults.plan import CI, FULL, Fault, Size, plan

NODE_NAMES = {node_name(i) for i in range(NODES)}


def kinds(size: Size, cluster: bool) -> Counter[str]:
    faults = plan(size, random.Random("s/plan"), victim="billing", ack_wait=5, cluster=cluster)
    return Counter(f.kind for f in faults)


def test_every_node_fault_kind_comes_up_with_a_valid_target() -> None:
    faults = plan(FULL, random.Random(20261126), victim="billing", ack_wait=5, cluster=True)
    planned = [f for f in faults if f.kind.startswith("node-")]
    kinds = Counter(f.kind for f in planned)
    assert set(kinds) == set(nats_cluster.KINDS) and sum(kinds.values()) == 20
    assert min(kinds.values()) == 4  # the kinds in turn
    for fault in planned:
        if fault.kind == "node-kill-all":
            assert set(fault.targets) == NODE_NAMES
        elif fault.kind.endswith("-leader"):
            assert len(fault.targets) == 1 and fault.targets[0] in SERVICES  # whose leader
        else:
            assert len(fault.targets) == 1 and fault.targets[0] in NODE_NAMES
        # A partition outlasts an election (seconds); a killed node is back within seconds.
        assert 5 <= fault.hold <= 10 if "isolate" in fault.kind else 0.5 <= fault.hold <= 3


def test_cluster_mode_replaces_nats_restarts_by_node_faults() -> None:
    single, clustered = kinds(FULL, False), kinds(FULL, True)
    assert single["nats-restart"] == FULL.faults["nats-restart"] == 20
    assert clustered["nats-restart"] == 0
    assert sum(n for k, n in clustered.items() if k.startswith("node-")) >= 20
    everything_else = {k: n for k, n in single.items() if k != "nats-restart"}
    assert {k: n for k, n in clustered.items() if not k.startswith("node-")} == everything_else
    ci = kinds(CI, True)
    assert {k for k in ci if k.startswith("node-")} == set(nats_cluster.KINDS)


def test_the_same_seed_plans_the_same_node_faults() -> None:
    def planned(seed: int) -> list[Fault]:
        return plan(CI, random.Random(seed), victim="billing", ack_wait=5, cluster=True)

    assert planned(7) == planned(7)
    assert nats_cluster.node_fault_count(20) == 20
    assert nats_cluster.node_fault_count(1) == len(nats_cluster.KINDS)
    assert nats_cluster.counts(7) == dict(zip(nats_cluster.KINDS, (2, 2, 1, 1, 1), strict=True))
