"""The cluster mode's node-fault plan (tests/faults/nats_cluster.py): no servers, fast."""

from __future__ import annotations

import random
from collections import Counter

from devstack.nats_cluster import NODES, node_name
from mesh.settings import SERVICES
from tests.faults import nats_cluster
from tests.faults.faults import CI, FULL, Size, plan

NODE_NAMES = {node_name(i) for i in range(NODES)}


def test_every_node_fault_kind_comes_up_with_a_valid_target() -> None:
    planned = nats_cluster.plan(random.Random(20261126), 20)
    kinds = Counter(kind for kind, _, _ in planned)
    assert set(kinds) == set(nats_cluster.KINDS) and sum(kinds.values()) == 20
    assert min(kinds.values()) == 4  # the kinds in turn
    for kind, targets, hold in planned:
        if kind == "node-kill-all":
            assert set(targets) == NODE_NAMES
        elif kind.endswith("-leader"):
            assert len(targets) == 1 and targets[0] in SERVICES  # whose stream leader
        else:
            assert len(targets) == 1 and targets[0] in NODE_NAMES
        # A partition outlasts an election (seconds); a killed node is back within seconds.
        assert 5 <= hold <= 10 if "isolate" in kind else 0.5 <= hold <= 3


def test_cluster_mode_replaces_nats_restarts_by_node_faults() -> None:
    def kinds(size: Size, cluster: bool) -> Counter[str]:
        faults = plan(size, random.Random("s/plan"), victim="billing", ack_wait=5, cluster=cluster)
        return Counter(f.kind for f in faults)

    single, clustered = kinds(FULL, False), kinds(FULL, True)
    assert single["nats-restart"] == FULL.nats_restarts
    assert clustered["nats-restart"] == 0
    assert sum(n for k, n in clustered.items() if k.startswith("node-")) >= 20
    everything_else = {k: n for k, n in single.items() if k != "nats-restart"}
    assert {k: n for k, n in clustered.items() if not k.startswith("node-")} == everything_else
    ci = kinds(CI, True)
    assert {k for k in ci if k.startswith("node-")} == set(nats_cluster.KINDS)


def test_the_same_seed_plans_the_same_node_faults() -> None:
    assert nats_cluster.plan(random.Random(7), 10) == nats_cluster.plan(random.Random(7), 10)
    assert nats_cluster.node_fault_count(3, full=True) == 20
    assert nats_cluster.node_fault_count(30, full=True) == 30
    assert nats_cluster.node_fault_count(1, full=False) == len(nats_cluster.KINDS)
