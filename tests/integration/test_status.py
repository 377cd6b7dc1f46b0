"""`weftwork status` against a real stack: health, each consumer's lag, dead letters per service."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from devstack.status import ConsumerLag, DeadLetterCount, StackStatus, check_stack, render_stack
from mesh.events.cloudevents import event_headers
from mesh.events.deadletters import list_dead_letters
from mesh.events.streams import ensure_stream
from mesh.settings import SERVICES, Settings
from services.billing.main import SPEC as BILLING
from tests.conftest import Stack
from tests.support import eventually, serving, settings_for, with_grpc_ports
from tests.unit.billing_fakes import ACTIVATED, FakeProducers

PROBE = "status-probe"  # a durable nobody pulls from: its lag is what was published


@dataclass
class Running:
    settings: Settings
    env: dict[str, str]


@pytest.fixture(scope="module")
async def running(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    # Port 0 for what does not run: nothing ever listens there, so each is DOWN for sure.
    ports = {f"WEFTWORK_{name.upper()}_PORT": "0" for name in SERVICES}
    settings, env = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("status"),
        WEFTWORK_GATEWAY_PORT="0",
        **ports,
    )
    client = await nats.connect(module_nats)
    try:
        js = client.jetstream()
        for domain in ("project", "customer"):
            await ensure_stream(js, domain)
        await js.add_consumer(
            "PROJECT", ConsumerConfig(durable_name=PROBE, ack_policy=AckPolicy.EXPLICIT)
        )
        async with serving(BILLING, settings) as (port, ctx):
            settings = with_grpc_ports(settings, billing=port)
            env["WEFTWORK_BILLING_PORT"] = str(port)
            producers = FakeProducers(js)
            await producers.activate()
            await producers.activate()
            poison = event_headers(
                event_id=uuid.uuid4(),
                service="project",
                subject=ACTIVATED,
                aggregate_id="e-poison",
                aggregate_version=1,
            )
            await js.publish(ACTIVATED, b"\x0a\x05ab", headers=poison)
            await eventually(lambda: list_dead_letters(ctx.pool), what="billing's dead letter")
            yield Running(settings, env)
    finally:
        await client.close()


def lag_of(status: StackStatus, consumer: str) -> ConsumerLag | None:
    return next((c for c in status.consumers or [] if c.consumer == consumer), None)


async def test_status_reports_health_consumer_lag_and_dead_letters(running: Running) -> None:
    status = await eventually(
        lambda: check_stack(running.settings, SERVICES),
        until=lambda s: getattr(lag_of(s, "billing-project"), "lag", None) == 0,
        what="billing-project drained",
    )

    assert lag_of(status, PROBE) == ConsumerLag("PROJECT", PROBE, pending=3, ack_pending=0)
    parts = {part.part: part.state for part in status.parts}
    assert (parts["billing"], parts["customer"], parts["NATS"]) == ("SERVING", "DOWN", "UP")
    assert status.down
    letters = {d.service: d for d in status.dead_letters}
    assert letters["billing"] == DeadLetterCount("billing", pending=1, replay_requested=0)
    assert letters["customer"].state == "no database"  # settings_for's, never created
    table = render_stack(status)
    assert any(line.split() == [PROBE, "PROJECT", "3", "0", "3"] for line in table.splitlines())


async def test_the_status_command_prints_the_tables_and_exits_non_zero_when_a_part_is_down(
    running: Running,
) -> None:
    await eventually(
        lambda: check_stack(running.settings, ["billing"]),
        until=lambda s: getattr(lag_of(s, "billing-project"), "lag", None) == 0,
        what="billing-project drained",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devstack.cli",
        "status",
        env={**os.environ, **running.env},
        cwd=Path(__file__).parents[2],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    lines = [line.split() for line in out.decode().splitlines()]

    assert process.returncode == 1, err.decode()  # customer, project, revenue are not running
    assert ["billing", "SERVING", running.settings.grpc_target("billing")] in lines
    assert ["consumer", "stream", "pending", "ack", "pending", "lag"] in lines
    assert [PROBE, "PROJECT", "3", "0", "3"] in lines
    assert ["billing-project", "PROJECT", "0", "0", "0"] in lines
    assert ["billing", "1", "0"] in lines
