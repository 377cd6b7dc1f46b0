"""The faults of a run, planned from the seed, injected one after another while the workload
runs; after each, the injector heals and waits (polling, bounded) until the platform has
recovered before the next one."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import nats
from nats.js import JetStreamContext

from mesh.events.streams import stream_name
from mesh.settings import SERVICES, server_urls
from tests.faults import nats_cluster
from tests.faults.checker import CONSUMERS, Consumer
from tests.faults.cluster import PEERED, Instance, Platform, serving
from tests.faults.proxy import Mode
from tests.support import eventually
from weftwork.mesh.v1 import integration_service_pb2 as integration_pb
from weftwork.mesh.v1 import integration_service_pb2_grpc as integration_grpc

RECOVERY_SECONDS = 120.0
PAUSE_ATTEMPTS = 3
LINK_FAULTS = [(link, mode) for link in ("nats", "postgres") for mode in Mode if mode != Mode.PASS]


@dataclass(frozen=True)
class Size:
    money_events: int
    kills_per_service: int  # SIGKILL of each service alone
    double_kills: int  # two services at once
    nats_restarts: int
    postgres_restarts: int
    pauses: int  # SIGSTOP of a consumer for longer than its ack wait
    link_rounds: int  # each link fault (latency, blackhole, reset on NATS and PostgreSQL)


CI = Size(1_000, 1, 1, 1, 1, 1, 1)
FULL = Size(10_000, 3, 4, 3, 2, 2, 2)


@dataclass(frozen=True)
class Fault:
    kind: str  # kill, kill-two, nats-restart, postgres-restart, pause, <link>-<mode>
    targets: tuple[str, ...]  # the services (or peer instances) it hits
    at: float  # progress of the workload (0..1) when it starts
    hold: float  # how long it lasts, in seconds

    @property
    def name(self) -> str:
        """What the table calls it: "kill billing", "nats-latency project", "nats-restart"."""
        if self.kind.endswith("restart"):
            return self.kind
        return f"{self.kind} {'+'.join(self.targets)}"

    def __str__(self) -> str:
        return f"{self.name} at {self.at:.0%} for {self.hold:.1f}s"


def plan(
    size: Size, rng: random.Random, *, victim: str, ack_wait: float, cluster: bool = False
) -> list[Fault]:
    """Every fault of the run, in a seeded random order, spread over the workload."""
    kinds: list[tuple[str, tuple[str, ...], float]] = []
    for _ in range(size.kills_per_service):
        kinds += [("kill", (s,), rng.uniform(0, 1.5)) for s in SERVICES]
    for _ in range(size.double_kills):
        kinds.append(("kill-two", tuple(sorted(rng.sample(SERVICES, 2))), rng.uniform(0, 1.5)))
    kinds += [("nats-restart", ("nats",), rng.uniform(0.5, 3)) for _ in range(size.nats_restarts)]
    kinds += [("postgres-restart", ("postgres",), 0) for _ in range(size.postgres_restarts)]
    for _ in range(size.pauses):
        peer = f"{rng.choice(PEERED)}-peer"
        kinds.append(("pause", (peer,), ack_wait + rng.uniform(2, 4)))
    for _ in range(size.link_rounds):
        kinds += [
            (f"{link}-{mode.value}", (victim,), rng.uniform(2, 5)) for link, mode in LINK_FAULTS
        ]
    if cluster:  # cluster mode: node faults instead of NATS restarts (tests/faults/nats_cluster.py)
        n = nats_cluster.node_fault_count(size.nats_restarts, full=size == FULL)
        kinds = [k for k in kinds if k[0] != "nats-restart"] + nats_cluster.plan(rng, n)
    rng.shuffle(kinds)
    starts = sorted(rng.uniform(0.02, 0.9) for _ in kinds)
    return [Fault(k, t, at, hold) for (k, t, hold), at in zip(kinds, starts, strict=True)]


class Injector:
    """Injects the planned faults as the workload's progress reaches each one's moment."""

    def __init__(self, platform: Platform, rng: random.Random, log: Callable[[str], None]) -> None:
        self.platform = platform
        self.rng = rng
        self.log = log
        self.injected: Counter[str] = Counter()
        self.pauses_redelivered = 0  # pauses after which the live peer got the messages

    async def run(self, faults: list[Fault], progress: Callable[[], float]) -> None:
        for fault in faults:

            async def reached(at: float = fault.at) -> bool:
                return progress() >= at

            await eventually(
                reached,
                within=600,
                interval=0.2,
                what=f"the workload to reach {fault.at:.0%}",
            )
            self.log(f"fault: {fault}")
            await self.inject(fault)
            self.injected[fault.name] += 1

    async def inject(self, fault: Fault) -> None:
        p = self.platform
        if fault.kind.startswith("node-"):  # cluster mode (tests/faults/nats_cluster.py)
            await nats_cluster.inject(p, fault.kind, fault.targets, fault.hold)
            await self._relays_flowing(SERVICES)
        elif fault.kind.startswith("kill"):
            instances = [p.main(s) for s in fault.targets]
            for instance in instances:
                await p.signal(instance, signal.SIGKILL)
            await asyncio.sleep(fault.hold)  # down for a moment, as a supervisor's backoff
            for instance in instances:
                await p.start(instance)
            await p.wait_serving(*instances, within=RECOVERY_SECONDS)
        elif fault.kind == "nats-restart":
            await p.launcher("nats_kill")
            await asyncio.sleep(fault.hold)
            await p.launcher("nats_start")
            await self._relays_flowing(SERVICES)
        elif fault.kind == "postgres-restart":
            await p.launcher("postgres_crash")
            await self._relays_flowing(SERVICES)
        elif fault.kind == "pause":
            await self._pause(p.instances[fault.targets[0]], fault.hold)
        else:
            link, mode = fault.kind.split("-")
            delay = self.rng.uniform(0.05, 0.3)
            p.proxies.set_mode(p.links[link], Mode(mode), delay)
            await asyncio.sleep(fault.hold)
            p.proxies.set_mode(p.links[link], Mode.PASS)
            await self._relays_flowing([p.victim])
        await p.supervise()

    async def _pause(self, peer: Instance, hold: float) -> None:
        """SIGSTOP for longer than the ack wait, while events flow to it: what it had fetched
        and not acknowledged is redelivered to the live instance, seen (sampled) as redelivered
        messages on its consumers. A pause that caught it holding nothing is tried again."""
        client = await nats.connect(server_urls(self.platform.nats_url), connect_timeout=2)
        js = client.jetstream()
        consumers = [c for c in CONSUMERS if c.service == peer.service]
        try:
            for attempt in range(1, PAUSE_ATTEMPTS + 1):
                await _delivering(js, consumers[0], within=30)
                await self.platform.signal(peer, signal.SIGSTOP)
                seen = await _most_redelivered(js, consumers, hold)
                await self.platform.signal(peer, signal.SIGCONT)
                await self.platform.wait_serving(peer, within=RECOVERY_SECONDS)
                self.log(f"  attempt {attempt}: {seen} redelivered while {peer.name} was stopped")
                if seen:
                    self.pauses_redelivered += 1
                    return
        finally:
            await client.close()

    async def _relays_flowing(self, services: list[str] | tuple[str, ...]) -> None:
        """Each service answers from its database and publishes its outbox again."""
        for service in services:
            await eventually(
                functools.partial(self._relay_keeps_up, service),
                within=RECOVERY_SECONDS,
                interval=0.2,
                what=f"{service} to read its database and publish its outbox",
            )

    async def _relay_keeps_up(self, service: str) -> bool:
        await self.platform.supervise()
        instance = self.platform.main(service)
        if not await serving(instance.target):
            return False
        async with grpc.aio.insecure_channel(instance.target) as channel:
            stub = integration_grpc.IntegrationServiceStub(channel)
            try:
                status = await stub.GetIntegrationStatus(
                    integration_pb.GetIntegrationStatusRequest(), timeout=2
                )
            except grpc.aio.AioRpcError:
                return False
        return bool(status.outbox_oldest_age_seconds < 5)


async def _delivering(js: JetStreamContext, consumer: Consumer, *, within: float) -> bool:
    """Whether the consumer is being delivered new messages (seen within `within` seconds): a
    pause then finds its instance holding some. The workload may be waiting on a backlog."""
    stream = stream_name(consumer.producer)
    before = (await js.consumer_info(stream, consumer.name)).delivered.stream_seq
    until = time.monotonic() + within
    while time.monotonic() < until:
        await asyncio.sleep(0.2)
        if (await js.consumer_info(stream, consumer.name)).delivered.stream_seq != before:
            return True
    return False


async def _most_redelivered(js: JetStreamContext, consumers: list[Consumer], seconds: float) -> int:
    """The most messages redelivered and not yet acknowledged at once, sampled for `seconds`."""
    most, until = 0, time.monotonic() + seconds
    while time.monotonic() < until:
        with contextlib.suppress(Exception):  # NATS may be away: sample again
            infos = [
                await js.consumer_info(stream_name(c.producer), c.name, timeout=1)
                for c in consumers
            ]
            most = max(most, sum(int(i.num_redelivered or 0) for i in infos))
        await asyncio.sleep(0.05)
    return most
