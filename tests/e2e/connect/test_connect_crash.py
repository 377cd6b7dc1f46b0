"""connect SIGKILLed between storing receipts and processing them, and while processing them:
after a restart every receipt is processed exactly once (one receipt, one engagement each).

Connect runs as a real child process (`weftwork serve connect`) killed with SIGKILL; the
gateway, customer and project keep running."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Stack
from tests.e2e.connect.hooks import (
    BY_OPPORTUNITY,
    CREATE_SOURCE,
    RECEIPTS,
    nodes,
    standard_body,
    standard_headers,
    won_data,
)
from tests.e2e.connect.stack import ConnectStack, running_connect_stack
from tests.e2e.processes import ServiceProcess
from tests.support import eventually


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound but never listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
async def crash_stack(
    stack: Stack, module_nats: str, tmp_path: Path, refusing_port: int
) -> AsyncIterator[ConnectStack]:
    # The first connect cannot reach project: receipts are stored and acknowledged, not processed.
    async with running_connect_stack(
        stack.database_url,
        module_nats,
        tmp_path,
        connect_as_child=True,
        child_env={"WEFTWORK_PROJECT_TARGET": f"127.0.0.1:{refusing_port}"},
    ) as running:
        yield running


async def all_receipts(stack: ConnectStack, name: str) -> list[dict[str, Any]]:
    """The source's receipts; none while the gateway's channel to a restarted connect
    reconnects (UNAVAILABLE)."""
    body = await stack.post(RECEIPTS, s=name)
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE", body["errors"]
        return []
    return nodes(body["data"]["receipts"])


async def post_won(stack: ConnectStack, name: str, secret: str, opportunities: list[str]) -> None:
    async def one(opportunity: str) -> None:
        body = standard_body(won_data(opportunity))
        headers = standard_headers(secret, body, webhook_id=f"msg_{opportunity}")
        # A sender retries what was not acknowledged (a 503 while connect restarts).
        answer = await eventually(
            lambda: stack.hook(name, body, headers),
            until=lambda a: a.status_code != 503,
            what=f"{opportunity} acknowledged",
        )
        assert answer.status_code == 202, answer.text

    await asyncio.gather(*(one(o) for o in opportunities))


def restart(stack: ConnectStack, log: Path) -> ServiceProcess:
    child = ServiceProcess("connect", stack.env, log)  # the port the gateway dials
    child.start()
    stack.children.append(child)
    return child


async def test_receipts_stored_before_a_sigkill_are_processed_exactly_once_after_restart(
    crash_stack: ConnectStack, tmp_path: Path
) -> None:
    stack = crash_stack
    name = f"crash-{uuid.uuid4().hex[:6]}"
    created = await stack.gql(CREATE_SOURCE, i={"name": name, "kind": "STANDARD_WEBHOOKS"})
    secret = created["createInboundSource"]["secret"]
    stored = [f"STORED-{i}" for i in range(20)]
    await post_won(stack, name, secret, stored)
    pending = await eventually(
        lambda: all_receipts(stack, name),
        until=lambda rs: len(rs) == 20 and all(r["attempts"] >= 1 for r in rs),
        what="every receipt stored and tried once against the unreachable project",
    )
    assert {r["status"] for r in pending} == {"PENDING"}

    first = stack.children[0]
    assert first.signal(signal.SIGKILL) == -signal.SIGKILL
    second = restart(stack, tmp_path / "connect-2.log")
    assert await eventually(second.serving, within=60, what="connect serving again")

    # Under a stream of new receipts, kill it again while it works through them.
    in_flight = [f"FLIGHT-{i}" for i in range(30)]
    await post_won(stack, name, secret, in_flight)
    assert second.signal(signal.SIGKILL) == -signal.SIGKILL
    third = restart(stack, tmp_path / "connect-3.log")
    assert await eventually(third.serving, within=60, what="connect serving a third time")

    settled = await eventually(
        lambda: all_receipts(stack, name),
        until=lambda rs: len(rs) == 50 and all(r["status"] == "PROCESSED" for r in rs),
        within=60,
        what="all 50 receipts processed",
    )
    assert sorted(r["externalId"] for r in settled) == sorted(stored + in_flight)
    engagements = {r["engagement"]["id"] for r in settled}
    assert len(engagements) == 50, "one engagement per receipt, none twice"
    for opportunity in ("STORED-0", "FLIGHT-29"):
        found = (await stack.gql(BY_OPPORTUNITY, s=name, o=opportunity))["engagementByOpportunity"]
        assert found["id"] in engagements
    third.stop()


# WEFTWORK_CONNECT_CRASH_RECEIPTS=1000 is the full size; the default keeps `make test`
# within a couple of minutes on a shared 2-core machine.
STREAM = int(os.environ.get("WEFTWORK_CONNECT_CRASH_RECEIPTS", "200"))


@pytest.fixture
async def child_stack(
    stack: Stack, module_nats: str, tmp_path: Path
) -> AsyncIterator[ConnectStack]:
    async with running_connect_stack(
        stack.database_url, module_nats, tmp_path, connect_as_child=True
    ) as running:
        yield running


async def counts(dsn: str, query: str, *args: object) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {row[0]: row[1] for row in await conn.fetch(query, *args)}
    finally:
        await conn.close()


async def test_a_stream_of_receipts_survives_sigkills_each_processed_once(
    child_stack: ConnectStack, tmp_path: Path
) -> None:
    stack = child_stack
    name = f"stream-{uuid.uuid4().hex[:6]}"
    created = await stack.gql(CREATE_SOURCE, i={"name": name, "kind": "STANDARD_WEBHOOKS"})
    secret = created["createInboundSource"]["secret"]
    acknowledged = 0
    opportunities = [f"S-{i:04d}" for i in range(STREAM)]
    queue = iter(opportunities)

    async def sender() -> None:
        nonlocal acknowledged
        for opportunity in queue:
            body = standard_body(won_data(opportunity))
            webhook_id = f"msg_{name}_{opportunity}"
            while True:  # a sender retries until acknowledged (re-signing: fresh timestamp)
                try:
                    answer = await stack.hook(
                        name, body, standard_headers(secret, body, webhook_id=webhook_id)
                    )
                except httpx.HTTPError:
                    answer = None
                if answer is not None and answer.status_code == 202:
                    acknowledged += 1
                    break
                assert answer is None or answer.status_code == 503, answer.text
                await asyncio.sleep(0.2)

    async def past(mark: int) -> None:
        async def reached() -> bool:
            return acknowledged >= mark

        await eventually(reached, within=120, what=f"{mark} receipts acknowledged")

    senders = asyncio.gather(*(sender() for _ in range(8)))
    for kill, at in enumerate((STREAM // 3, 2 * STREAM // 3), start=2):
        await past(at)
        assert stack.children[-1].signal(signal.SIGKILL) == -signal.SIGKILL
        restart(stack, tmp_path / f"connect-{kill}.log")
    await asyncio.wait_for(senders, 300)

    connect_db = stack.env["WEFTWORK_CONNECT_DATABASE_URL"]
    by_status = await eventually(
        lambda: counts(
            connect_db,
            "SELECT status, count(*) FROM receipts WHERE source = $1 GROUP BY status",
            name,
        ),
        until=lambda c: c.get("PROCESSED") == STREAM,
        within=300,
        what=f"{STREAM} receipts processed",
    )
    assert by_status == {"PROCESSED": STREAM}, "every receipt stored once and processed"
    engagements = await counts(
        stack.env["WEFTWORK_PROJECT_DATABASE_URL"],
        "SELECT opportunity_system, count(*) FROM engagements WHERE opportunity_system = $1"
        " GROUP BY opportunity_system",
        name,
    )
    assert engagements == {name: STREAM}, "one engagement per opportunity, none twice"
    distinct = await counts(
        connect_db,
        "SELECT 'ids', count(DISTINCT engagement_id) FROM receipts WHERE source = $1",
        name,
    )
    assert distinct == {"ids": STREAM}
    stack.children[-1].stop()
