"""No money event is lost or applied twice while services, NATS and PostgreSQL are killed,
restarted, paused and cut off, with the services as separate OS processes.

CI runs the reduced size (every service killed at least once, every other fault once);
`make faults` sets WEFTWORK_FAULT_SIZE=full (>= 20,000 money events, 56 SIGKILLs, 20 NATS
restarts) and prints the table.
WEFTWORK_FAULT_SEED replays a run: the same faults, in the same order, under the same commands.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import resource
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from mesh.settings import SERVICES
from tests.faults import nats_cluster
from tests.faults.books import check_books
from tests.faults.checker import Findings, check_delivery, read_only
from tests.faults.cluster import Platform, running_platform
from tests.faults.drain import backlog, settle
from tests.faults.faults import Injector, close_quietly, connect_nats
from tests.faults.finance import Finance
from tests.faults.partners import Partners, check_partners, settle_partners
from tests.faults.plan import CI, FULL, Fault, Size, plan
from tests.faults.proxy import Mode
from tests.faults.report import Run, render
from tests.faults.retention import pruned_note, pruned_while_running
from tests.faults.rpc import Caller
from tests.faults.tamper import (
    TAMPERED_DUPLICATED,
    TAMPERED_LOST,
    TAMPERED_PROBLEMS,
    tamper,
)
from tests.faults.workload import Delivery
from tests.support import eventually

FULL_SIZE = os.environ.get("WEFTWORK_FAULT_SIZE") == "full"
# Cluster mode: three NATS nodes, R3 streams, node faults (tests/faults/nats_cluster.py).
CLUSTER = os.environ.get(nats_cluster.ENABLED_ENV) == "1"
SEED = int(os.environ.get("WEFTWORK_FAULT_SEED") or 20261126)
ACK_WAIT = 5.0  # seconds; a paused consumer's messages go to its peer after this
BILLING_EVERY = 4  # delivery rounds per billing run


@dataclass(frozen=True)
class FaultRun:
    platform: Platform  # still running: the checker's own test tampers with it
    size: Size
    run: Run
    partners: Partners


@pytest.fixture(scope="module")
async def fault_run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FaultRun]:
    """The run: workload and faults, then heal, drain and check. Logs stay in the tmp dir."""
    size = FULL if FULL_SIZE else CI
    victim = random.Random(SEED).choice(["project", "billing", "revenue"])
    rng = random.Random(f"{SEED}/plan")
    faults = plan(size, rng, victim=victim, ack_wait=ACK_WAIT, cluster=CLUSTER)
    logs = tmp_path_factory.mktemp("faults")
    _say(f"\nWEFTWORK_FAULT_SEED={SEED} ({len(faults)} faults; logs in {logs})")
    started = time.monotonic()
    async with running_platform(logs, victim, ACK_WAIT, nats_cluster=CLUSTER) as platform:
        call = Caller()
        delivery = Delivery(platform, random.Random(f"{SEED}/delivery"), call)
        finance = Finance(platform, random.Random(f"{SEED}/finance"), call)
        injector = Injector(platform, random.Random(f"{SEED}/links"), log=_say)
        partners = Partners(platform, random.Random(f"{SEED}/partners"), call)
        await delivery.set_up()
        await partners.set_up()
        try:
            await _drive(delivery, finance, partners, injector, faults, size)
            _say("workload done; healing and draining")
            await _heal(platform)
            drained = await settle(platform, say=_say)
            await settle_partners(platform, partners)
        finally:
            await partners.close()
        found = await check(platform, partners)
        found.notes.append(pruned_note(_logs(platform)))
        run = Run(
            SEED,
            "full" if FULL_SIZE else "ci",
            victim,
            injector.injected,
            injector.pauses_redelivered,
            found,
            call.retried,
            platform.unexpected_exits(),
            time.monotonic() - started,
            drained,
            injector.sigkills,
            dict(injector.recovery),
            (await platform.launcher("cpu"))["seconds"],
            _own_cpu(),
        )
        yield FaultRun(platform, size, run, partners)


@pytest.mark.slow
@pytest.mark.timeout(3600 if FULL_SIZE else 600)
async def test_no_money_event_is_lost_or_applied_twice_under_faults(fault_run: FaultRun) -> None:
    run, found = fault_run.run, fault_run.run.findings
    _say(render(run))
    assert all(run.sigkills[s] for s in SERVICES), "every service was killed"
    assert sum(run.sigkills.values()) >= fault_run.size.sigkills
    assert sum(found.money_events.values()) >= fault_run.size.money_events
    assert not found.lost and not found.duplicated, found.problems
    assert not found.problems
    # A crash, restart or cut link is UNAVAILABLE to a caller (retry), never INTERNAL (a bug).
    assert not run.retried["INTERNAL"], "a transient failure surfaced as INTERNAL (service logs)"
    # Retention ran during the faults, and the checks above held with it.
    assert pruned_while_running(_logs(fault_run.platform), run.seconds), "nothing was pruned"


async def test_the_checker_notices_what_a_fault_could_do(fault_run: FaultRun) -> None:
    """The same databases, after tampering as a bug would: each harm is reported."""
    await tamper(fault_run.platform)
    # A partner's endpoint forgets an event it was sent: as if it was never delivered.
    received = fault_run.partners.receiver.received
    forgotten = received[0].webhook_id
    received[:] = [r for r in received if r.webhook_id != forgotten]
    found = await check(fault_run.platform, fault_run.partners)
    assert set(found.lost) >= set(TAMPERED_LOST), found.lost
    assert set(found.duplicated) >= set(TAMPERED_DUPLICATED), found.duplicated
    assert found.lost["outbound events never delivered"] == 1, found.lost
    for problem in TAMPERED_PROBLEMS:
        assert any(problem in p for p in found.problems), (problem, found.problems)


async def check(platform: Platform, partners: Partners) -> Findings:
    found = Findings()
    async with read_only(platform) as db:
        await check_delivery(db, platform.nats_url, found)
        await check_books(db, found)
        await check_partners(partners, db, found)
    return found


async def _drive(
    delivery: Delivery,
    finance: Finance,
    partners: Partners,
    injector: Injector,
    faults: list[Fault],
    size: Size,
) -> None:
    """Both lanes of the workload while the faults are injected; until the size is reached and
    every fault is done. The workload waits while the consumers are far behind: a run measures
    faults under load, not how big a backlog can grow."""
    enough = asyncio.Event()

    def produced() -> int:
        return sum(delivery.money_events.values()) + sum(finance.money_events.values())

    async def deliver() -> None:
        client = await connect_nats(delivery.platform.nats_url)
        caught_up = functools.partial(_caught_up, client.jetstream(), size.max_backlog)
        try:
            while not enough.is_set():
                await delivery.round()
                if delivery.rounds % size.hooks_every == 0:
                    await partners.round()
                if delivery.rounds % 5 == 0:
                    await eventually(caught_up, within=600, interval=0.2, what="consumers")
                if delivery.rounds % 50 == 0:
                    _say(f"progress: {produced():,} money events")
        finally:
            await close_quietly(client)

    async def bill() -> None:
        while True:
            due, finished = delivery.rounds + BILLING_EVERY, enough.is_set()
            await finance.round()
            if finished:
                return
            await _until(functools.partial(_billing_due, delivery, due, enough))

    async with asyncio.TaskGroup() as lanes:
        lanes.create_task(deliver())
        lanes.create_task(bill())
        await injector.run(faults, lambda: produced() / size.money_events)
        await _until(lambda: produced() >= size.money_events)
        enough.set()


def _billing_due(delivery: Delivery, due: int, enough: asyncio.Event) -> bool:
    return delivery.rounds >= due or enough.is_set()


async def _caught_up(js: nats.js.JetStreamContext, most: int) -> bool:
    behind = await backlog(js)
    return behind is None or behind < most


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _heal(platform: Platform) -> None:
    for link in platform.links.values():
        platform.proxies.set_mode(link, Mode.PASS)
    for instance in platform.instances.values():
        if not instance.down_on_purpose:
            await platform.signal(instance, signal.SIGCONT)
    await platform.supervise()


async def _until(condition: Callable[[], bool]) -> None:
    async def holds() -> bool:
        return condition()

    await eventually(holds, within=600, interval=0.1, what="the workload")


def _logs(platform: Platform) -> list[Path]:
    return [instance.log for instance in platform.instances.values()]


def _say(line: str) -> None:
    print(line, flush=True)
