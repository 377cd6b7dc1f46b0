"""Two `weftwork serve billing` processes on one database: runs never double-draft, and 50
drafts issued concurrently through both get unique, gapless numbers in issue order."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest

from mesh.db import create_pool
from mesh.events.streams import ensure_stream
from mesh.grpc.client import open_channel
from mesh.grpc.convert import date_to_proto
from tests.conftest import Stack
from tests.e2e.processes import ServiceProcess
from tests.support import eventually, settings_for
from tests.unit.billing_fakes import FakeProducers, rated
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.billing.v1 import billing_service_pb2_grpc as pb_grpc

DRAFTS = 50
ENTITIES = {"UK01": "GBP", "DE01": "EUR"}


@pytest.fixture
def env(stack: Stack, module_nats: str, tmp_path: Path) -> dict[str, str]:
    _, environment = settings_for(stack.database_url, module_nats, tmp_path)
    return environment


@pytest.fixture
async def processes(env: dict[str, str], tmp_path: Path) -> AsyncIterator[list[ServiceProcess]]:
    client = await nats.connect(env["WEFTWORK_NATS_URL"])
    for domain in ("project", "customer"):
        await ensure_stream(client.jetstream(), domain)
    await client.close()
    started = [ServiceProcess("billing", env, tmp_path / f"b{n}.log") for n in (1, 2)]
    try:
        for process in started:
            process.start()
        for process in started:
            await eventually(process.serving, within=60, what="billing SERVING")
        yield started
        assert [p.stop() for p in started] == [0, 0]  # graceful after the drain
    finally:
        for process in started:
            process.ensure_stopped()


async def test_fifty_drafts_issued_concurrently_from_two_processes_get_gapless_numbers(
    env: dict[str, str], processes: list[ServiceProcess]
) -> None:
    db = await create_pool(env["WEFTWORK_BILLING_DATABASE_URL"])
    client = await nats.connect(env["WEFTWORK_NATS_URL"])
    producers = FakeProducers(client.jetstream())
    try:
        for n in range(DRAFTS):
            entity = list(ENTITIES)[n % 2]
            engagement = await producers.activate(entity=entity, currency=ENTITIES[entity])
            await producers.approve_time(
                engagement,
                [rated("1", "100.00", dt.date(2025, 3, 1), currency=engagement.currency)],
            )
        await eventually(
            lambda: db.fetchval("SELECT count(*) FROM billable_items"),
            until=lambda n: n == DRAFTS,
            what="every approval consumed (by either process)",
        )
        async with (
            open_channel(processes[0].target, deadline_seconds=60) as one,
            open_channel(processes[1].target, deadline_seconds=60) as two,
        ):
            stubs = [pb_grpc.BillingServiceStub(one), pb_grpc.BillingServiceStub(two)]
            run = pb.RunBillingRequest(cutoff=date_to_proto(dt.date(2025, 3, 31)))
            runs = await asyncio.gather(*(stub.RunBilling(run) for stub in stubs))

            drafts = [invoice for answer in runs for invoice in answer.invoices]
            assert len(drafts) == DRAFTS  # the second run found every item drafted already
            assert len({d.engagement_id for d in drafts}) == DRAFTS
            issue_date = date_to_proto(dt.date(2025, 4, 1))
            requests = [pb.IssueInvoiceRequest(id=d.id, issue_date=issue_date) for d in drafts]
            # Every draft through one process, a tenth of them retried through the other.
            calls = [stubs[n % 2].IssueInvoice(r) for n, r in enumerate(requests)]
            calls += [stubs[(n + 1) % 2].IssueInvoice(r) for n, r in enumerate(requests[::10])]
            answers = await asyncio.gather(*calls)

        numbers = {a.invoice.id: a.invoice.number for a in answers}
        assert len(numbers) == DRAFTS
        for entity in ENTITIES:
            issued = await db.fetch(
                # Two issues in one microsecond tie on issued_at: either order is issue order.
                "SELECT number FROM invoices WHERE legal_entity = $1 ORDER BY issued_at, number",
                entity,
            )
            in_issue_order = [row["number"] for row in issued]
            assert in_issue_order == [f"{entity}-2025-{n:06d}" for n in range(1, DRAFTS // 2 + 1)]
        assert await db.fetchval("SELECT count(*) FROM invoice_items") == DRAFTS
        await eventually(
            lambda: db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"),
            until=lambda n: n == 0,
            what="every invoice.issued published",
        )
        assert await db.fetchval("SELECT count(*) FROM outbox") == DRAFTS
    finally:
        await client.close()
        await db.close()
