"""connect SIGKILLed while it delivers (issue #15, bad input and faults; acceptance):

- a delivery killed after the receiver got it is made again with the same webhook-id;
- under a stream of 1,000 inbound receipts (signed, through the gateway's /hooks) and 1,000
  outbound deliveries, connect is SIGKILLed twice: every receipt is processed once (one
  engagement per opportunity), every delivery is made at least once, none is lost.

Connect is a real child process (`weftwork serve connect`); customer, project, the gateway and
the receiver keep running. The sender retries what was not acknowledged, as senders do."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.revenue.domain.facts import BillingModel
from tests.conftest import Stack
from tests.e2e.connect.hooks import CREATE_SOURCE, standard_body, standard_headers, won_data
from tests.e2e.connect.outbound_stack import OutboundStack, running_outbound_stack
from tests.e2e.connect.receivers import Received, Receiver, running
from tests.e2e.processes import ServiceProcess
from tests.support import eventually
from tests.unit.revenue_fakes import Engagement

ISSUED = "weftwork.billing.invoice.issued.v1"
RECEIPTS = 1_000
DELIVERIES = 1_000
ENGAGEMENTS = 100  # deliveries come in chains of 10 per engagement, each chain in order


@pytest.fixture
async def child_stack(
    stack: Stack, module_nats: str, tmp_path: Path
) -> AsyncIterator[OutboundStack]:
    async with running_outbound_stack(
        stack.database_url,
        module_nats,
        tmp_path,
        connect_as_child=True,
        with_intake=True,
        # Long enough that a restart never turns a delivery FAILED: this is about kills.
        WEFTWORK_CONNECT_DELIVERY_RETRY_WINDOW_SECONDS="300",
        # A killed consumer's unacknowledged batch comes back after this, not the default 30 s.
        WEFTWORK_ACK_WAIT_SECONDS="5",
    ) as running_stack:
        yield running_stack


def restart(stack: OutboundStack, log: Path) -> ServiceProcess:
    child = ServiceProcess("connect", stack.env, log)  # the same port the gateway dials
    child.start()
    stack.children.append(child)
    return child


async def kill_and_restart(stack: OutboundStack, log: Path) -> None:
    assert stack.children[-1].signal(signal.SIGKILL) == -signal.SIGKILL
    child = restart(stack, log)
    assert await eventually(child.serving, within=60, what="connect serving again")


async def test_a_delivery_killed_after_the_receiver_got_it_is_made_again_with_the_same_id(
    child_stack: OutboundStack, tmp_path: Path
) -> None:
    receiver = Receiver()
    receiver.hold["/held"] = asyncio.Event()
    async with running(receiver):
        endpoint_id, secret = await child_stack.endpoint(f"{receiver.url}/held", ISSUED)
        receiver.secrets["/held"] = secret
        e, invoice = Engagement(BillingModel.TIME_AND_MATERIALS), uuid.uuid4()
        event_id = await child_stack.publish(
            "billing", e.issued(invoice, e.start, "10.00"), str(invoice)
        )
        await asyncio.wait_for(receiver.held.wait(), 30)  # the receiver has it; no answer yet
        await kill_and_restart(child_stack, tmp_path / "connect-2.log")
        receiver.release.set()  # answers 200 to a connection nobody reads any more

        [delivery] = await child_stack.settled(endpoint_id, 1, within=60)
        assert delivery["status"] == "DELIVERED"
        got = receiver.on("/held")
        assert [r.webhook_id for r in got] == [event_id, event_id]
        assert all(r.verified for r in got)


async def post_receipts(stack: OutboundStack, name: str, secret: str) -> None:
    """1,000 signed opportunity.won, 16 at a time, each retried until acknowledged."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(RECEIPTS):
        queue.put_nowait(i)

    async def sender() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            body = standard_body(won_data(f"FAULT-{i}"))
            while True:
                headers = standard_headers(secret, body, webhook_id=f"msg_fault_{i}")
                try:
                    answer = await stack.client.post(
                        f"{stack.base}/hooks/{name}", content=body, headers=headers
                    )
                except Exception:
                    answer = None
                if answer is not None and answer.status_code == 202:
                    break
                await asyncio.sleep(0.05)  # 503 while connect restarts: send it again

    await asyncio.gather(*(sender() for _ in range(16)))


async def publish_invoices(stack: OutboundStack) -> dict[str, tuple[str, int]]:
    """Chains of invoices, one per engagement per round; each event id -> (engagement, its
    place in the engagement's chain)."""
    engagements = [Engagement(BillingModel.TIME_AND_MATERIALS) for _ in range(ENGAGEMENTS)]
    sent = {}
    for n in range(DELIVERIES // ENGAGEMENTS):
        for e in engagements:
            invoice = uuid.uuid4()
            event = e.issued(invoice, e.start, f"{n + 1}.00")
            sent[await stack.publish("billing", event, str(invoice))] = (str(e.id), n)
    return sent


def out_of_order(got: list[Received], sent: dict[str, tuple[str, int]]) -> list[str]:
    """Where an engagement's chain went backwards at the receiver: after an event reached it,
    an earlier one of the same engagement (a first delivery or a redelivery) came later."""
    reached: dict[str, int] = {}
    found = []
    for r in got:
        engagement, place = sent[r.webhook_id]
        if place < reached.get(engagement, -1):
            found.append(f"{engagement}: #{place} after #{reached[engagement]}")
        reached[engagement] = max(place, reached.get(engagement, -1))
    return found


async def count(dsn: str, query: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(query)
    finally:
        await conn.close()


async def test_sigkill_under_1000_receipts_and_1000_deliveries_loses_nothing(
    child_stack: OutboundStack, tmp_path: Path
) -> None:
    stack = child_stack
    started = time.monotonic()
    receiver = Receiver()
    async with running(receiver):
        _, secret = await stack.endpoint(f"{receiver.url}/erp", ISSUED)
        receiver.secrets["/erp"] = secret
        name = f"fault-{uuid.uuid4().hex[:6]}"
        created = await stack.gql(CREATE_SOURCE, i={"name": name, "kind": "STANDARD_WEBHOOKS"})
        source_secret = created["createInboundSource"]["secret"]

        posting = asyncio.create_task(post_receipts(stack, name, source_secret))
        publishing = asyncio.create_task(publish_invoices(stack))
        dsn = stack.env["WEFTWORK_CONNECT_DATABASE_URL"]

        async def progress() -> tuple[int, int]:
            row = await count(dsn, "SELECT count(*) FROM receipts")
            return int(row[0]), len(receiver.on("/erp"))

        for n, at in enumerate((100, 400), start=2):

            def far_enough(p: tuple[int, int], at: int = at) -> bool:
                return p[0] >= at and p[1] >= at // 2

            await eventually(progress, until=far_enough, within=120, what=f"{at} receipts in")
            await kill_and_restart(stack, tmp_path / f"connect-{n}.log")
        await posting
        sent = await publishing

        async def settled() -> tuple[int, int, int, int]:
            r = await count(
                dsn,
                """SELECT count(*) FILTER (WHERE status = 'PROCESSED'),
                          count(DISTINCT engagement_id) FILTER (WHERE status = 'PROCESSED')
                     FROM receipts""",
            )
            d = await count(dsn, """SELECT count(*) FILTER (WHERE status = 'DELIVERED'),
                                           count(*) FROM deliveries""")  # fmt: skip
            return int(r[0]), int(r[1]), int(d[0]), int(d[1])

        done = await eventually(
            settled,
            until=lambda s: s[0] == RECEIPTS and s[2] == DELIVERIES,
            within=300,  # about 30 s on an idle machine; the margin is for a busy one
            interval=0.2,
            what="every receipt processed and every delivery made",
        )
        # Every receipt processed once: one engagement per opportunity, none twice.
        assert done == (RECEIPTS, RECEIPTS, DELIVERIES, DELIVERIES)
        got = receiver.on("/erp")
        assert set(sent) <= {r.webhook_id for r in got}, "a delivery was lost"
        assert all(r.verified for r in got)
        duplicates = len(got) - len({r.webhook_id for r in got})
        # In order per engagement across the kills too: a killed consumer's unacknowledged
        # batch comes back only after ack_wait, and the deliveries of later events wait for it.
        assert out_of_order(got, sent) == []
        print(
            f"\nfaults: 2 SIGKILLs, {RECEIPTS} receipts processed once, {DELIVERIES} deliveries"
            f" made ({duplicates} again after a kill), {time.monotonic() - started:.1f}s"
        )
