"""Prometheus metrics of a running service, scraped from its metrics port over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mesh.events.cloudevents import event_headers
from mesh.events.streams import ensure_stream
from mesh.grpc.client import open_channel
from services.billing.main import FULL_NAME, SPEC
from tests.conftest import Stack
from tests.support import eventually, rpc_error, serving, settings_for
from tests.unit.billing_fakes import ACTIVATED, TIME_APPROVED, Billing, FakeProducers, rated
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.billing.v1 import billing_service_pb2_grpc as pb_grpc

D = dt.date
CONSUMER = "billing-project"


@dataclass(frozen=True)
class Scrape:
    """One scrape of /metrics: sample name and labels to value."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)


@dataclass
class Running:
    billing: Billing
    metrics_url: str

    async def scrape(self) -> Scrape:
        async with httpx.AsyncClient() as client:
            response = await client.get(self.metrics_url)
        response.raise_for_status()
        assert response.headers["content-type"].startswith("text/plain")
        samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }
        return Scrape(samples)

    async def published_rows(self) -> int:
        return int(
            await self.billing.db.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
            )
        )


@pytest.fixture(scope="module")
async def running(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    client = await nats.connect(module_nats)
    try:
        js = client.jetstream()
        for domain in ("project", "customer"):
            await ensure_stream(js, domain)
        settings, _ = settings_for(stack.database_url, module_nats, tmp_path_factory.mktemp("m"))
        async with (
            serving(SPEC, settings) as (port, ctx),
            open_channel(f"127.0.0.1:{port}", deadline_seconds=10) as channel,
        ):
            assert ctx.metrics_port  # settings_for asks for any free port (0)
            billing = Billing(pb_grpc.BillingServiceStub(channel), ctx.pool, FakeProducers(js))
            yield Running(billing, f"http://127.0.0.1:{ctx.metrics_port}/metrics")
    finally:
        await client.close()


def handled(code: str) -> dict[str, str]:
    return {
        "grpc_type": "unary",
        "grpc_service": FULL_NAME,
        "grpc_method": "ListInvoices",
        "grpc_code": code,
    }


async def test_each_grpc_call_is_counted_once_by_method_and_status_code(
    running: Running,
) -> None:
    before = await running.scrape()
    stub = running.billing.stub
    await stub.ListInvoices(pb.ListInvoicesRequest(page_size=10))
    await stub.ListInvoices(pb.ListInvoicesRequest(page_size=20))
    await rpc_error(stub.ListInvoices(pb.ListInvoicesRequest(page_size=101)))
    after = await running.scrape()

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("grpc_server_handled_total", **handled("OK")) == 2
    assert moved("grpc_server_handled_total", **handled("INVALID_ARGUMENT")) == 1
    method = {k: v for k, v in handled("OK").items() if k != "grpc_code"}
    assert moved("grpc_server_started_total", **method) == 3
    assert moved("grpc_server_handling_seconds_count", **method) == 3
    # The standard process and Python collectors are there too.
    assert after.value("process_cpu_seconds_total") > 0
    assert any(name == "python_info" for name, _ in after.samples)


async def test_consumed_events_count_once_and_a_redelivered_copy_counts_as_one_duplicate(
    running: Running,
) -> None:
    producers = running.billing.producers
    before = await running.scrape()
    engagement = await producers.activate()
    approval = producers.time_approval(
        engagement, [rated("6", "110.00", D(2025, 7, 1), currency="GBP")]
    )
    first = await producers.publish(TIME_APPROVED, engagement.id, approval.version, approval)
    # The same event once more, past JetStream's dedup (a relay re-publishing after its window).
    headers = event_headers(
        event_id=first,
        service="project",
        subject=TIME_APPROVED,
        aggregate_id=engagement.id,
        aggregate_version=approval.version,
    )
    headers["Nats-Msg-Id"] = f"{first}-again"
    await producers.js.publish(TIME_APPROVED, approval.SerializeToString(), headers=headers)
    await running.billing.settled()

    def moved(after: Scrape, name: str, subject: str) -> float:
        labels = {"consumer": CONSUMER, "event_type": subject}
        return after.value(name, **labels) - before.value(name, **labels)

    after = await eventually(
        running.scrape,
        until=lambda s: moved(s, "weftwork_events_duplicate_total", TIME_APPROVED) == 1,
        what="the duplicate counted",
    )
    assert moved(after, "weftwork_events_processed_total", ACTIVATED) == 1
    assert moved(after, "weftwork_events_processed_total", TIME_APPROVED) == 1
    assert moved(after, "weftwork_event_handler_seconds_count", ACTIVATED) == 1
    assert moved(after, "weftwork_event_handler_seconds_count", TIME_APPROVED) == 1
    assert moved(after, "weftwork_events_dead_lettered_total", TIME_APPROVED) == 0
    assert after.value("weftwork_consumer_pending_messages", consumer=CONSUMER) == 0


async def test_a_poison_message_is_counted_as_dead_lettered(running: Running) -> None:
    labels = {"consumer": CONSUMER, "event_type": ACTIVATED}
    before = (await running.scrape()).value("weftwork_events_dead_lettered_total", **labels)
    headers = event_headers(
        event_id=uuid.uuid4(),
        service="project",
        subject=ACTIVATED,
        aggregate_id="e-poison",
        aggregate_version=1,
    )
    await running.billing.producers.js.publish(ACTIVATED, b"\x0a\x05ab", headers=headers)

    await eventually(
        running.scrape,
        until=lambda s: s.value("weftwork_events_dead_lettered_total", **labels) == before + 1,
        what="the dead letter counted",
    )


async def test_each_published_outbox_event_is_timed_and_the_backlog_returns_to_zero(
    running: Running,
) -> None:
    billing = running.billing
    published_before = await running.published_rows()
    timed_before = (await running.scrape()).value("weftwork_outbox_publish_seconds_count")
    engagement = await billing.producers.activate()
    await billing.producers.approve_time(
        engagement, [rated("4", "100.00", D(2025, 8, 4), currency="GBP")]
    )
    await billing.unbilled(engagement, 1)
    await billing.issue(await billing.draft(engagement, D(2025, 8, 31)), D(2025, 9, 1))

    async def settled() -> tuple[int, Scrape]:
        return await running.published_rows(), await running.scrape()

    published, scrape = await eventually(
        settled,
        until=lambda r: (
            r[0] > published_before
            and r[1].value("weftwork_outbox_backlog_events") == 0
            and r[1].value("weftwork_outbox_publish_seconds_count") - timed_before
            == r[0] - published_before
        ),
        what="every outbox event published, timed, and the backlog back to 0",
    )
    assert scrape.value("weftwork_outbox_oldest_unpublished_age_seconds") == 0
    assert scrape.value("weftwork_outbox_publish_failures_total") == 0
    assert published - published_before >= 1  # invoice.issued at least
