"""One trace from a GraphQL mutation through gRPC, the outbox, NATS and every consumer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mesh.telemetry import configure_tracing
from tests.e2e.platform import Platform, gql
from tests.support import eventually


class WhileRecording(SpanProcessor):
    """Keeps spans only while this test records (the provider lives as long as the process)."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.recording = True

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            self.inner.on_end(span)


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = WhileRecording(SimpleSpanProcessor(exporter))
    configure_tracing("tests", processor=processor)
    yield exporter
    processor.recording = False
    exporter.clear()


CLOSE_WON = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) { engagement { id } } }"""


async def test_a_close_won_is_one_trace_across_every_hop(
    spans: InMemorySpanExporter, api: Platform
) -> None:
    opportunity = {
        "source": "salesforce",
        "opportunityId": "TRACE-1",
        "account": {"externalId": "acc-trace", "name": "Tracer Bullet Ltd", "country": "GB"},
        "name": "Traced",
        "legalEntity": "UK01",
        "currency": "GBP",
        "billingModel": "TIME_AND_MATERIALS",
        "startDate": "2026-01-01",
        "endDate": "2026-06-30",
        "rateCard": [{"role": "dev", "billRate": "100", "costRate": "50"}],
    }
    await gql(api, CLOSE_WON, input=opportunity)

    def trace_of_mutation() -> list[ReadableSpan]:
        finished = list(spans.get_finished_spans())
        roots = [
            s for s in finished if s.name == "GraphQL Mutation" or s.name.startswith("GraphQL")
        ]
        if not roots:
            return []
        trace_id = roots[-1].context.trace_id
        return [s for s in finished if s.context.trace_id == trace_id]

    def complete(found: list[ReadableSpan]) -> bool:
        groups = {s.attributes.get("messaging.consumer.group.name") for s in found if s.attributes}
        return {"billing-project", "revenue-project"} <= groups

    trace = await eventually(
        lambda: _now(trace_of_mutation()),
        until=complete,
        what="consumer spans in the mutation's trace",
    )
    names = {s.name for s in trace}
    assert "/weftwork.project.v1.ProjectService/CreateEngagementFromOpportunity" in names
    assert "/weftwork.customer.v1.CustomerService/ResolveCustomer" in names
    assert "weftwork.project.engagement.activated.v1 process" in names
    # The project's server span is a child of the gateway's, not a new root.
    server = next(
        s
        for s in trace
        if s.name == "/weftwork.project.v1.ProjectService/CreateEngagementFromOpportunity"
        and s.parent
    )
    assert server.parent is not None


async def _now(value: list[ReadableSpan]) -> list[ReadableSpan]:
    return value
