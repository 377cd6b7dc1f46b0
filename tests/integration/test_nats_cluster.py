"""The local 3-node JetStream cluster (devstack/nats_cluster.py), the production topology: it
starts, a domain's stream is R3 on it, and SIGKILLing the stream's leader loses nothing that
was acknowledged while publishing and consuming go on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamInfo
from nats.js.errors import ServiceUnavailableError

from devstack.nats_cluster import NatsCluster
from devstack.nats_users import user_url
from mesh.events.nats import NatsConnection
from mesh.events.streams import ensure_stream, stream_name
from mesh.settings import server_urls
from tests.support import eventually

pytestmark = pytest.mark.timeout(90)
COUNT = 300
NAMESPACE = "tcluster"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    nodes = NatsCluster(tmp_path / "nats")
    try:
        await asyncio.to_thread(nodes.start)
        yield nodes
    finally:
        await asyncio.to_thread(nodes.close)


async def publish(js: JetStreamContext, n: int) -> None:
    """Until acknowledged: during an election a publish times out or finds no responder; the
    message id makes a retry of one that did land a duplicate the stream drops."""
    subject = f"{NAMESPACE}.customer.test.v1"
    for _ in range(200):
        with contextlib.suppress(Exception):
            await js.publish(subject, str(n).encode(), timeout=2, headers={"Nats-Msg-Id": str(n)})
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"message {n} never acknowledged")


async def healthy(js: JetStreamContext, stream: str) -> StreamInfo | None:
    """The stream's info once it has a leader and two current replicas."""
    try:
        info = await js.stream_info(stream)
    except Exception:
        return None
    cluster = info.cluster
    if cluster is None or not cluster.leader or not cluster.replicas:
        return None
    current = [r for r in cluster.replicas if r.current and not r.offline]
    return info if len(current) == 2 else None


async def test_cluster_keeps_every_message_when_the_stream_leader_dies(
    cluster: NatsCluster,
) -> None:
    assert len(server_urls(cluster.url)) == 3
    # A service's own URL lists the three servers too, with its own credentials.
    own = server_urls(user_url(cluster.url, "customer"))
    assert len(own) == 3 and all(u.startswith("nats://customer:") for u in own)
    stream = stream_name("customer", NAMESPACE)
    async with NatsConnection(cluster.url, name="test-cluster") as nats:
        assert await nats.wait_connected(20)
        js = nats.jetstream
        info = await ensure_stream(js, "customer", replicas=3, namespace=NAMESPACE)
        assert info.config.num_replicas == 3
        before = await eventually(lambda: healthy(js, stream), within=20, what="an R3 leader")
        assert before is not None and before.cluster is not None
        for n in range(COUNT // 2):
            await publish(js, n)

        leader = cluster.index_of(str(before.cluster.leader))
        await asyncio.to_thread(cluster.kill, leader)
        for n in range(COUNT // 2, COUNT):
            await publish(js, n)
        await asyncio.to_thread(cluster.start_nodes, [leader])
        after = await eventually(lambda: healthy(js, stream), within=30, what="three replicas")
        assert after is not None and after.cluster is not None
        assert after.cluster.leader != before.cluster.leader
        assert after.state.messages == COUNT

        # A new R3 consumer answers 503 until its own leader is elected (a CI run met it right
        # after the node came back): creating it and each fetch are tried again, as services do.
        transient = (ServiceUnavailableError, TimeoutError)

        async def subscribe() -> JetStreamContext.PullSubscription | None:
            with contextlib.suppress(*transient):
                return await js.pull_subscribe(f"{NAMESPACE}.customer.>", durable="reader")
            return None

        subscription = await eventually(subscribe, within=30, what="the consumer")
        assert subscription is not None
        seen: list[int] = []

        async def read() -> int:
            with contextlib.suppress(*transient):
                for message in await subscription.fetch(100, timeout=2):
                    seen.append(int(message.data))
                    await message.ack()
            return len(seen)

        await eventually(read, until=lambda n: n >= COUNT, within=40, what="every message")
    assert sorted(seen) == list(range(COUNT)), "lost or duplicated"
