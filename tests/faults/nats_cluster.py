"""Cluster mode of the fault suite (WEFTWORK_FAULT_CLUSTER=1, `make faults CLUSTER=1`): NATS is
the production topology, three JetStream nodes (devstack/nats_cluster.py) with R3 streams and
`sync_interval: always`, and its faults are node faults instead of single-node restarts:

- node-kill: one node SIGKILLed, restarted after a moment;
- node-kill-leader: the same for the node leading a domain's stream;
- node-kill-all: all three SIGKILLed at once, then restarted together;
- node-isolate, node-isolate-leader: a node (or a stream's leader) partitioned from the two
  others: the route proxies (one per direction of each pair) to and from it blackholed.

After each, the injector waits until every stream has a leader and two current replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import nats

from devstack.nats_cluster import NODES, node_name
from mesh.events.streams import stream_name
from mesh.settings import SERVICES, server_urls
from tests.faults.proxy import LinkProxy, Mode, ProxyThread
from tests.support import eventually

ENABLED_ENV = "WEFTWORK_FAULT_CLUSTER"
KINDS = ("node-kill", "node-kill-leader", "node-kill-all", "node-isolate", "node-isolate-leader")
RECOVERY_SECONDS = 120.0


def node_fault_count(nats_restarts: int) -> int:
    """How many node faults replace the size's NATS restarts: every kind at least once."""
    return max(nats_restarts, len(KINDS))


def draw(kind: str, rng: random.Random) -> tuple[tuple[str, ...], float]:
    """A node fault's targets and hold. A leader's fault names the domain whose stream leader
    it hits, found when it happens."""
    if kind == "node-kill-all":
        targets = tuple(node_name(j) for j in range(NODES))
    elif kind.endswith("-leader"):
        targets = (rng.choice(SERVICES),)
    else:
        targets = (node_name(rng.randrange(NODES)),)
    return targets, rng.uniform(5, 10) if "isolate" in kind else rng.uniform(0.5, 3)


def counts(n: int) -> dict[str, int]:
    """`n` node faults, the kinds in turn (so each comes up)."""
    return {kind: n // len(KINDS) + (i < n % len(KINDS)) for i, kind in enumerate(KINDS)}


def open_routes(proxies: ProxyThread, addresses: list[str]) -> dict[tuple[int, int], LinkProxy]:
    """A proxy for each direction of each pair: (a, b) carries the routes node a dials to b."""
    return {
        (a, b): proxies.open(f"route-{a}-{b}", addresses[b])
        for a in range(len(addresses))
        for b in range(len(addresses))
        if a != b
    }


async def start(launcher: Any, proxies: ProxyThread, servers: dict[str, Any]) -> dict[Any, Any]:
    """The cluster started by the launcher with its routes through proxies; the route proxies."""
    routes = open_routes(proxies, servers["cluster_addresses"])
    via = {f"{a}-{b}": f"127.0.0.1:{proxy.port}" for (a, b), proxy in routes.items()}
    servers.update(await launcher("cluster_start", routes=via))
    return routes


async def inject(platform: Any, kind: str, targets: tuple[str, ...], hold: float) -> None:
    """One node fault, healed after `hold` seconds; returns once the streams are whole again."""
    url = platform.nats_url
    if kind == "node-kill-all":
        nodes = list(range(NODES))
    elif kind.endswith("-leader"):
        nodes = [await _leader(url, targets[0])]
    else:
        nodes = [_index(targets[0])]
    if "isolate" in kind:
        cut = [p for (a, b), p in platform.routes.items() if nodes[0] in (a, b)]
        for proxy in cut:
            platform.proxies.set_mode(proxy, Mode.BLACKHOLE)
        await asyncio.sleep(hold)
        for proxy in cut:
            platform.proxies.set_mode(proxy, Mode.PASS)
    else:
        await platform.launcher("node_kill", indexes=nodes)
        await asyncio.sleep(hold)
        await platform.launcher("node_start", indexes=nodes)
    await eventually(
        lambda: _whole(url), within=RECOVERY_SECONDS, interval=0.5, what="R3 streams whole"
    )


def _index(name: str) -> int:
    return [node_name(i) for i in range(NODES)].index(name)


async def _leader(url: str, domain: str) -> int:
    """The node leading the domain's stream (waiting for one, after an earlier fault)."""

    async def leader() -> str:
        with contextlib.suppress(Exception):  # no quorum yet, or the node we asked is down
            client = await nats.connect(server_urls(url), connect_timeout=2, allow_reconnect=False)
            try:
                info = await client.jetstream(timeout=2).stream_info(stream_name(domain))
            finally:
                await client.close()
            return str(info.cluster.leader) if info.cluster and info.cluster.leader else ""
        return ""

    name = await eventually(leader, within=RECOVERY_SECONDS, what=f"a leader of {domain}")
    return _index(name)


async def _whole(url: str) -> bool:
    """Every domain's stream has a leader and its two other replicas are current."""
    with contextlib.suppress(Exception):
        client = await nats.connect(server_urls(url), connect_timeout=2, allow_reconnect=False)
        try:
            js = client.jetstream(timeout=2)
            for domain in SERVICES:
                info = await js.stream_info(stream_name(domain))
                replicas = (info.cluster.replicas or []) if info.cluster else []
                leader = info.cluster.leader if info.cluster else None
                current = [r for r in replicas if r.current and not r.offline]
                if not leader or len(current) != NODES - 1:
                    return False
            return True
        finally:
            await client.close()
    return False
