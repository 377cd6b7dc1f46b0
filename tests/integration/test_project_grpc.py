"""The project service over real gRPC, PostgreSQL and NATS, with the real customer service.

The fixture and request builders here are shared by the other test_project_* modules.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import nats
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_binary
from google.type import date_pb2, money_pb2

from mesh.grpc.client import open_channel
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from tests.conftest import Stack
from tests.support import (
    ProtobufFormat,
    eventually,
    publish_event,
    serving,
    settings_for,
    with_grpc_ports,
)
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.customer.v1 import customer_service_pb2_grpc as customer_grpc
from weftwork.customer.v1 import events_pb2 as customer_events
from weftwork.project.v1 import events_pb2
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

START = dt.date(2025, 3, 3)  # a Monday
END = dt.date(2025, 6, 27)


@dataclass
class Running:
    project: pb_grpc.ProjectServiceStub
    customers: customer_grpc.CustomerServiceStub
    db: asyncpg.Pool  # the project service's own database
    nats_url: str


@pytest.fixture(scope="module")
async def running(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    """Customer and project services in this loop; project dials customer on its port."""
    settings, _ = settings_for(stack.database_url, module_nats, tmp_path_factory.mktemp("project"))
    async with (
        serving(CUSTOMER, settings) as (customer_port, _),
        serving(PROJECT, with_grpc_ports(settings, customer=customer_port)) as (port, ctx),
        open_channel(f"127.0.0.1:{port}", deadline_seconds=10) as channel,
        open_channel(f"127.0.0.1:{customer_port}", deadline_seconds=10) as customer_channel,
    ):
        running = Running(
            pb_grpc.ProjectServiceStub(channel),
            customer_grpc.CustomerServiceStub(customer_channel),
            ctx.pool,
            module_nats,
        )
        for person_id, name, entity in PEOPLE:
            await running.project.UpsertPerson(
                pb.UpsertPersonRequest(
                    person=pb.Person(id=person_id, name=name, home_entity=entity)
                )
            )
        yield running


PEOPLE = [("p-ada", "Ada Lovelace", "UK01"), ("p-bob", "Bob Builder", "UK01")]


def day(value: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def money(amount: str, currency: str = "GBP") -> money_pb2.Money:
    value = Decimal(amount)
    units = int(value)
    return money_pb2.Money(
        currency_code=currency, units=units, nanos=int((value - units) * 1_000_000_000)
    )


def as_decimal(m: money_pb2.Money) -> Decimal:
    return Decimal(m.units) + Decimal(m.nanos) / Decimal(1_000_000_000)


def account() -> pb.OpportunityAccount:
    """A CRM account no other test uses (the customer service would match a shared tax id)."""
    n = uuid.uuid4().int % 10**9
    return pb.OpportunityAccount(
        external_id=f"acc-{n}", name=f"Globex {n} Ltd", country="GB", tax_id=f"GB {n:09d}"
    )


def won(
    opportunity_id: str | None = None, **overrides: Any
) -> pb.CreateEngagementFromOpportunityRequest:
    """A valid T&M close-won for a UK customer; overrides replace fields."""
    opportunity_id = opportunity_id or f"opp-{uuid.uuid4().hex[:8]}"
    fields: dict[str, Any] = {
        "source": "salesforce",
        "opportunity_id": opportunity_id,
        "account": account(),
        "name": "Globex data platform",
        "legal_entity": "UK01",
        "currency": "GBP",
        "billing_model": pb.BILLING_MODEL_TIME_AND_MATERIALS,
        "contract_value": money("50000"),
        "budget_hours": "400",
        "start_date": day(START),
        "end_date": day(END),
        "rate_card": [
            pb.RateCardLine(role="Consultant", bill_rate="150.00", cost_rate="80.00"),
            pb.RateCardLine(role="Senior Consultant", bill_rate="187.35", cost_rate="99.99"),
        ],
        "payment_terms_days": 45,
        "expense_markup_percent": "12.5",
    }
    fields.update(overrides)
    return pb.CreateEngagementFromOpportunityRequest(**fields)


async def engagement(r: Running, **overrides: Any) -> pb.Engagement:
    answer: pb.CreateEngagementFromOpportunityResponse = (
        await r.project.CreateEngagementFromOpportunity(won(**overrides))
    )
    return answer.engagement


def entry(e: pb.Engagement, **overrides: Any) -> pb.TimeEntryInput:
    fields: dict[str, Any] = {
        "engagement_id": e.id,
        "person_id": "p-ada",
        "role": "Senior Consultant",
        "date": day(START),
        "hours": "7.5",
        "description": "Data model workshop",
    }
    fields.update(overrides)
    return pb.TimeEntryInput(**fields)


async def counts(db: asyncpg.Pool) -> dict[str, int]:
    """Rows of every table a write could touch, and the outbox."""
    tables = [
        "engagements",
        "engagement_numbers",
        "rate_card_lines",
        "milestones",
        "assignments",
        "people",
        "time_entries",
        "expenses",
        "customer_aliases",
        "idempotent_requests",
        "outbox",
    ]
    row = await db.fetchrow(
        "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in tables)
    )
    assert row is not None
    return dict(row)


async def settled(r: Running) -> None:
    """Every event of the project outbox is on the stream."""
    await eventually(
        lambda: r.db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"),
        until=lambda n: n == 0,
        what="the relay to publish the outbox",
    )


async def stream_events(r: Running, engagement_id: str) -> list[Any]:
    """Every PROJECT message about one engagement (after settled: the whole stream)."""
    await settled(r)
    nc = await nats.connect(r.nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info("PROJECT")).state.last_seq
        sub = await js.subscribe("weftwork.project.>", ordered_consumer=True)
        found: list[Any] = []
        seq = 0
        while seq < last:
            msg = await sub.next_msg(timeout=5)
            seq = msg.metadata.sequence.stream
            if msg.headers and msg.headers.get("ce-subject") == engagement_id:
                found.append(msg)
        return found
    finally:
        await nc.close()


def decoded(msg: Any, message_type: type[Any]) -> Any:
    """A message read as a partner would: CloudEvents binary mode, then the proto class."""
    headers = dict(msg.headers)
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-type"] == msg.subject
    assert headers["ce-source"] == "/weftwork/project"
    assert headers["Nats-Msg-Id"] == headers["ce-id"]
    assert headers["ce-datacontenttype"] == headers["Content-Type"] == "application/protobuf"
    assert len(headers["traceparent"].split("-")) == 4
    event = from_binary(HTTPMessage(headers=headers, body=msg.data), ProtobufFormat())
    payload = message_type.FromString(event.get_data())
    assert int(event.get_extension("aggregateversion")) == payload.version
    assert event.get_subject() == payload.engagement_id
    return payload


async def test_close_won_twice_is_one_engagement_and_one_activated_event(running: Running) -> None:
    request = won(
        legal_entity="UK01",
        start_date=day(dt.date(2031, 1, 6)),
        end_date=day(dt.date(2031, 12, 19)),
    )
    first = await running.project.CreateEngagementFromOpportunity(request)
    again = await running.project.CreateEngagementFromOpportunity(request)
    assert (first.created, again.created) == (True, False)
    assert again.engagement == first.engagement
    assert first.customer_matched_by == customer_pb.MATCH_RULE_CREATED
    assert again.customer_matched_by == customer_pb.MATCH_RULE_CREATED  # kept, not re-resolved
    e = first.engagement
    assert e.code == "PRJ-UK01-2031-0001"  # the start date's year
    assert (e.status, e.version, e.payment_terms_days) == (pb.ENGAGEMENT_STATUS_ACTIVE, 1, 45)
    rows = await running.db.fetchval(
        "SELECT count(*) FROM engagements WHERE opportunity_id = $1", request.opportunity_id
    )
    assert rows == 1
    [msg] = await stream_events(running, e.id)
    assert msg.subject == "weftwork.project.engagement.activated.v1"
    activated = decoded(msg, events_pb2.EngagementActivated)
    assert (activated.engagement_id, activated.version) == (e.id, 1)
    assert activated.engagement == e
    assert (activated.customer.name, activated.customer.country, activated.customer.tax_id) == (
        request.account.name,
        "GB",
        request.account.tax_id.replace(" ", ""),  # as the customer service normalized it
    )
    assert activated.customer.customer_id == e.customer_id


async def test_concurrent_identical_close_wons_create_one_engagement(running: Running) -> None:
    request = won()
    answers = await asyncio.gather(
        *(running.project.CreateEngagementFromOpportunity(request) for _ in range(4))
    )
    assert len({a.engagement.id for a in answers}) == 1
    assert sorted(a.created for a in answers) == [False, False, False, True]
    engagement_id = answers[0].engagement.id
    assert len(await stream_events(running, engagement_id)) == 1


async def test_concurrent_close_wons_get_distinct_codes_per_entity_and_year(
    running: Running,
) -> None:
    start = {"start_date": day(dt.date(2032, 2, 2)), "end_date": day(dt.date(2032, 9, 30))}
    answers = await asyncio.gather(
        *(running.project.CreateEngagementFromOpportunity(won(**start)) for _ in range(6)),
        running.project.CreateEngagementFromOpportunity(
            won(legal_entity="DE01", currency="", contract_value=money("1000", "EUR"), **start)
        ),
    )
    codes = sorted(a.engagement.code for a in answers)
    assert codes == ["PRJ-DE01-2032-0001"] + [f"PRJ-UK01-2032-{n:04d}" for n in range(1, 7)]
    german = answers[-1].engagement
    assert german.currency == "EUR"  # empty currency means the entity's


async def test_a_customer_outage_is_unavailable_and_writes_nothing(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings, _ = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("outage"),
        WEFTWORK_GRPC_DEADLINE_SECONDS="0.5",
    )
    # First the customer service hangs (accepts, never answers) on a port it bound itself; at
    # the end the real one rebinds that port, as a restarted service does (SO_REUSEADDR).
    hung: list[asyncio.StreamWriter] = []
    stalled = await asyncio.start_server(lambda r, w: hung.append(w), "127.0.0.1", 0)
    customer_port = stalled.sockets[0].getsockname()[1]
    settings = with_grpc_ports(settings, customer=customer_port)
    async with (
        stalled,
        serving(PROJECT, settings) as (port, ctx),
        open_channel(f"127.0.0.1:{port}", deadline_seconds=10) as channel,
    ):
        stub = pb_grpc.ProjectServiceStub(channel)
        before = await counts(ctx.pool)

        async def attempt(
            request: pb.CreateEngagementFromOpportunityRequest,
        ) -> pb.CreateEngagementFromOpportunityResponse | str:
            try:
                answer: pb.CreateEngagementFromOpportunityResponse = (
                    await stub.CreateEngagementFromOpportunity(request)
                )
            except grpc.aio.AioRpcError as error:
                return f"{error.code().name}: {error.details()}"
            return answer

        # The customer service hangs: the deadline ends the call.
        answer = await attempt(won())
        assert isinstance(answer, str) and answer.startswith("UNAVAILABLE: ")
        assert "DEADLINE_EXCEEDED" in answer
        assert await counts(ctx.pool) == before

        # It is gone (refused): UNAVAILABLE at once.
        stalled.close()
        for writer in hung:
            writer.close()
        request = won()
        answer = await attempt(request)
        assert isinstance(answer, str) and answer.startswith("UNAVAILABLE: ")
        assert await counts(ctx.pool) == before

        # It comes back: once the channel reconnects, the same request goes through, once.
        async with serving(CUSTOMER, settings, port=customer_port):
            created = await eventually(
                lambda: attempt(request),
                until=lambda got: not isinstance(got, str),
                what="creation once the customer service is up",
            )
        assert isinstance(created, pb.CreateEngagementFromOpportunityResponse) and created.created
        after = await counts(ctx.pool)
        assert (after["engagements"], after["outbox"]) == (
            before["engagements"] + 1,
            before["outbox"] + 1,
        )


async def test_merging_customers_repoints_their_engagements(running: Running) -> None:
    shared = account()  # two deals with one CRM account: one customer, two engagements
    a = await engagement(running)
    b1 = await engagement(running, account=shared)
    b2 = await engagement(running, account=shared)
    c = await engagement(running)
    assert b1.customer_id == b2.customer_id
    await running.customers.MergeCustomers(
        customer_pb.MergeCustomersRequest(survivor_id=a.customer_id, merged_id=b1.customer_id)
    )

    async def owners(*engagements: pb.Engagement) -> list[tuple[str, int]]:
        found = await running.project.BatchGetEngagements(
            pb.BatchGetEngagementsRequest(ids=[e.id for e in engagements])
        )
        return [(e.customer_id, e.version) for e in found.engagements]

    await eventually(
        lambda: owners(a, b1, b2, c),
        until=lambda got: (
            got == [(a.customer_id, 1), (a.customer_id, 2), (a.customer_id, 2), (c.customer_id, 1)]
        ),
        what="the merged customer's engagements to move to the survivor",
    )
    # The merged id still finds its engagements: listing follows the alias.
    listed = await running.project.ListEngagements(
        pb.ListEngagementsRequest(customer_id=b1.customer_id)
    )
    assert {e.id for e in listed.engagements} == {a.id, b1.id, b2.id}

    # The survivor is merged in turn: everything follows to the last survivor.
    await running.customers.MergeCustomers(
        customer_pb.MergeCustomersRequest(survivor_id=c.customer_id, merged_id=a.customer_id)
    )
    final = [(c.customer_id, 2), (c.customer_id, 3), (c.customer_id, 3), (c.customer_id, 1)]
    await eventually(
        lambda: owners(a, b1, b2, c),
        until=lambda got: got == final,
        what="every engagement to follow to the final survivor",
    )
    # A late copy of the first merge (a redelivery under a new id) moves nothing back.
    nc = await nats.connect(running.nats_url)
    try:
        await publish_event(
            nc.jetstream(),
            service="customer",
            subject="weftwork.customer.customer.merged.v1",
            aggregate_id=a.customer_id,
            aggregate_version=2,
            message=customer_events.CustomerMerged(
                survivor_id=a.customer_id, merged_id=b1.customer_id, version=2
            ),
        )
    finally:
        await nc.close()
    await eventually(
        lambda: running.db.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer = 'project-customer'"
        ),
        until=lambda n: n == 3,
        what="the late merge to be consumed",
    )
    assert await owners(a, b1, b2, c) == final
