"""The faults of a run (planned in tests/faults/plan.py), injected while the workload runs: the
lanes side by side, each one fault after another; after each, the injector heals and waits
(polling, bounded) until the platform has recovered before that lane's next one."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import grpc
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from mesh.events.streams import stream_name
from mesh.settings import SERVICES, server_urls
from tests.faults import nats_cluster
from tests.faults.checker import CONSUMERS, Consumer
from tests.faults.cluster import Instance, Platform, serving
from tests.faults.plan import KINDS, Fault
from tests.faults.proxy import Mode
from tests.support import eventually
from weftwork.mesh.v1 import integration_service_pb2 as integration_pb
from weftwork.mesh.v1 import integration_service_pb2_grpc as integration_grpc

RECOVERY_SECONDS = 120.0
PAUSE_ATTEMPTS = 3


class Injector:
    """Injects the planned faults as the workload's progress reaches each one's moment."""

    def __init__(self, platform: Platform, rng: random.Random, log: Callable[[str], None]) -> None:
        self.platform = platform
        self.rng = rng
        self.log = log
        self.injected: Counter[str] = Counter()
        self.sigkills: Counter[str] = Counter()  # by service
        self.recovery: defaultdict[str, list[float]] = defaultdict(list)  # seconds, by kind
        self.pauses_redelivered = 0  # pauses after which the live peer got the messages

    async def run(self, faults: list[Fault], progress: Callable[[], float]) -> None:
        """Each lane's faults in order, the lanes side by side."""
        lanes: dict[str, list[Fault]] = defaultdict(list)
        for fault in faults:
            lanes[fault.lane].append(fault)
        async with asyncio.TaskGroup() as group:
            for lane in lanes.values():
                group.create_task(self._lane(lane, progress))

    async def _lane(self, faults: list[Fault], progress: Callable[[], float]) -> None:
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
            began = time.monotonic()
            custom = KINDS[fault.kind].inject
            await (custom(self, fault) if custom else self.inject(fault))
            await self.platform.supervise()
            # Recovery: from the end of the fault (its hold) to the platform working again.
            self.recovery[fault.kind].append(max(0.0, time.monotonic() - began - fault.hold))
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
                self.sigkills[instance.service] += 1
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

    async def _pause(self, peer: Instance, hold: float) -> None:
        """SIGSTOP for longer than the ack wait, while events flow to it: what it had fetched
        and not acknowledged is redelivered to the live instance, seen (sampled) as redelivered
        messages on its consumers. A pause that caught it holding nothing is tried again."""
        client = await connect_nats(self.platform.nats_url)
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
            await close_quietly(client)

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


async def connect_nats(url: str) -> Client:
    """A client that rides out a NATS restart (the other lane), also while connecting."""

    async def attempt() -> Client | None:
        try:
            return await nats.connect(
                server_urls(url), connect_timeout=2, max_reconnect_attempts=-1
            )
        except Exception:
            return None

    client = await eventually(attempt, within=RECOVERY_SECONDS, interval=0.2, what="NATS")
    assert client is not None
    return client


async def close_quietly(client: Client) -> None:
    """Closing a client while NATS restarts (the other lane) fails on the lost connection."""
    with contextlib.suppress(Exception):
        await client.close()


async def _delivering(js: JetStreamContext, consumer: Consumer, *, within: float) -> bool:
    """Whether the consumer is being delivered new messages (seen within `within` seconds): a
    pause then finds its instance holding some. The workload may be waiting on a backlog."""
    stream = stream_name(consumer.producer)
    before, until = None, time.monotonic() + within
    while time.monotonic() < until:
        with contextlib.suppress(Exception):  # NATS may be restarting (the other lane)
            seen = (await js.consumer_info(stream, consumer.name, timeout=1)).delivered.stream_seq
            if before is not None and seen != before:
                return True
            before = seen
        await asyncio.sleep(0.2)
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
