"""Outbound webhooks over real HTTP (issue #15 acceptance): events on the BILLING and PROJECT
streams -> connect -> a local Starlette receiver that verifies every request with the
`standardwebhooks` library. Retries, Retry-After, FAILED and replay, order per engagement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest

from mesh.tokens import issue_token
from services.revenue.domain.facts import BillingModel
from tests.conftest import Stack
from tests.e2e.connect.outbound_stack import (
    CREATE_ENDPOINT,
    ENDPOINTS,
    REPLAY,
    SECRET,
    OutboundStack,
    running_outbound_stack,
)
from tests.e2e.connect.receivers import Receiver, running
from tests.support import eventually
from tests.unit.revenue_fakes import Engagement

ISSUED = "weftwork.billing.invoice.issued.v1"
UPDATE = """mutation($id: ID!, $i: WebhookEndpointUpdate!) {
  updateWebhookEndpoint(id: $id, input: $i) { id enabled description }
}"""
DELETE = """mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }"""
D = dt.date(2026, 3, 31)


@pytest.fixture(scope="module")
async def outbound(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[OutboundStack]:
    async with running_outbound_stack(
        stack.database_url, module_nats, tmp_path_factory.mktemp("outbound")
    ) as running_stack:
        yield running_stack


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    async with running(found):
        yield found


def engagement(entity: str = "UK01") -> Engagement:
    return Engagement(BillingModel.TIME_AND_MATERIALS, "GBP", entity)


async def test_an_endpoint_for_issued_invoices_receives_every_one_signed(
    outbound: OutboundStack, receiver: Receiver
) -> None:
    endpoint_id, secret = await outbound.endpoint(f"{receiver.url}/invoices", ISSUED)
    assert secret.startswith("whsec_")
    receiver.secrets["/invoices"] = secret
    e = engagement()
    await outbound.publish("project", e.activated(), str(e.id))
    issued = {}
    for n in range(5):
        invoice = uuid.uuid4()
        event_id = await outbound.publish(
            "billing", e.issued(invoice, D, f"{100 + n}.00"), str(invoice)
        )
        issued[event_id] = invoice
    paid = next(iter(issued.values()))
    await outbound.publish("billing", e.paid(paid, "pay-1", D, "100.00"), str(paid))

    deliveries = await outbound.settled(endpoint_id, 5)
    assert {d["status"] for d in deliveries} == {"DELIVERED"}
    got = receiver.on("/invoices")
    assert sorted(r.webhook_id for r in got) == sorted(issued)  # every issued, nothing else
    assert all(r.verified for r in got), "standardwebhooks refused a signature"
    first = next(r for r in got if r.webhook_id == next(iter(issued)))
    body = first.json()
    assert body["type"] == ISSUED and body["id"] == first.webhook_id
    assert body["engagementId"] == str(e.id)
    assert body["subject"] == str(issued[first.webhook_id])
    assert body["data"]["invoiceId"] == str(issued[first.webhook_id])
    assert body["data"]["total"] == {"currencyCode": "GBP", "units": "100"}
    assert body["time"].endswith("Z")


async def test_a_receiver_failing_twice_gets_it_once_more_each_time_and_ends_delivered(
    outbound: OutboundStack, receiver: Receiver
) -> None:
    endpoint_id, _ = await outbound.endpoint(f"{receiver.url}/flaky", ISSUED)
    receiver.scripts["/flaky"] = [(500, {}, b"oops"), (500, {}, b"oops again")]
    e, invoice = engagement(), uuid.uuid4()
    event_id = await outbound.publish("billing", e.issued(invoice, D, "10.00"), str(invoice))

    [delivery] = await outbound.settled(endpoint_id, 1)
    assert delivery["status"] == "DELIVERED"
    assert delivery["attempts"] == 3
    assert [r.webhook_id for r in receiver.on("/flaky")] == [event_id] * 3


async def test_a_429_is_retried_no_sooner_than_retry_after(
    outbound: OutboundStack, receiver: Receiver
) -> None:
    endpoint_id, _ = await outbound.endpoint(f"{receiver.url}/busy", ISSUED)
    receiver.scripts["/busy"] = [(429, {"Retry-After": "2"}, b"slow down")]
    e, invoice = engagement(), uuid.uuid4()
    await outbound.publish("billing", e.issued(invoice, D, "10.00"), str(invoice))

    [delivery] = await outbound.settled(endpoint_id, 1)
    assert delivery["status"] == "DELIVERED"
    first, second = receiver.on("/busy")
    # The schedule alone would have retried within 0.3 s; the receiver asked for 2.
    assert second.at - first.at >= 1.9


async def test_another_4xx_stops_at_once_and_fails(
    outbound: OutboundStack, receiver: Receiver
) -> None:
    endpoint_id, _ = await outbound.endpoint(f"{receiver.url}/gone", ISSUED)
    receiver.scripts["/gone"] = [(410, {}, b"gone")]
    e, invoice = engagement(), uuid.uuid4()
    await outbound.publish("billing", e.issued(invoice, D, "10.00"), str(invoice))

    [delivery] = await outbound.settled(endpoint_id, 1)
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == (
        "FAILED",
        1,
        410,
    )
    assert len(receiver.on("/gone")) == 1


async def test_a_receiver_down_past_the_window_fails_and_a_replay_delivers(
    outbound: OutboundStack,
) -> None:
    receiver = Receiver()
    async with running(receiver):
        endpoint_id, secret = await outbound.endpoint(f"{receiver.url}/later", ISSUED)
    receiver.secrets["/later"] = secret  # down from here on: connections are refused
    e, invoice = engagement(), uuid.uuid4()
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    event_id = await outbound.publish("billing", e.issued(invoice, D, "10.00"), str(invoice))

    [failed] = await outbound.settled(endpoint_id, 1)
    assert failed["status"] == "FAILED" and failed["attempts"] > 1, failed
    assert failed["lastStatusCode"] is None and failed["lastError"]
    assert [d["id"] for d in await outbound.deliveries(endpoint_id, "FAILED")] == [failed["id"]]

    async with running(receiver):  # back, on the same port
        replayed = await outbound.gql(REPLAY, e=endpoint_id, since=before.isoformat())
        assert replayed["replayWebhookDeliveries"] == 1
        [delivered] = await outbound.settled(endpoint_id, 1)
        assert delivered["status"] == "DELIVERED"
        [got] = receiver.on("/later")
        assert (got.webhook_id, got.verified) == (event_id, True)


async def test_an_engagements_events_arrive_in_order_even_when_the_first_is_retried(
    outbound: OutboundStack, receiver: Receiver
) -> None:
    endpoint_id, _ = await outbound.endpoint(
        f"{receiver.url}/ordered", "weftwork.billing.*", legalEntities=["US01"]
    )
    receiver.scripts["/ordered"] = [(503, {}, b""), (500, {}, b"")]
    e = engagement("US01")
    other = engagement("UK01")  # another entity: not for this endpoint
    await outbound.publish("project", e.activated(), str(e.id))
    sent = []
    for n in range(4):
        invoice = uuid.uuid4()
        sent.append(
            await outbound.publish("billing", e.issued(invoice, D, f"{n + 1}.00"), str(invoice))
        )
    invoice = uuid.uuid4()
    await outbound.publish("billing", other.issued(invoice, D, "1.00"), str(invoice))
    sent.append(await outbound.publish("billing", e.paid(invoice, "p", D, "1.00"), str(invoice)))

    await outbound.settled(endpoint_id, 5)
    firsts: list[str] = []
    for r in receiver.on("/ordered"):
        if r.webhook_id not in firsts:
            firsts.append(r.webhook_id)
    assert firsts == sent


async def test_production_refuses_plain_http_and_private_targets(outbound: OutboundStack) -> None:
    # This stack allows insecure targets (tests); the rule itself is unit-tested, and the
    # GraphQL error shape is the same: a bad event type is refused naming the field.
    answer = await outbound.post(
        """mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }""",
        i={"url": "https://example.com/hook", "eventTypes": ["weftwork.billing.nope.v1"]},
    )
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "event_types[0]" in error["message"]
    endpoints = (await outbound.gql(ENDPOINTS))["webhookEndpoints"]
    assert all(e["url"] != "https://example.com/hook" for e in endpoints)
    await eventually(lambda: outbound.gql(ENDPOINTS), what="endpoints listed")


async def test_admin_manages_finance_reads_and_a_disabled_or_deleted_endpoint_gets_nothing(
    outbound: OutboundStack, receiver: Receiver
) -> None:
    token = issue_token(SECRET, subject="f", roles=["finance"], entities=["*"])
    finance = {"Authorization": f"Bearer {token}"}
    spec = {"url": receiver.url, "eventTypes": [ISSUED]}
    refused = await outbound.client.post(
        f"{outbound.base}/graphql",
        json={"query": CREATE_ENDPOINT, "variables": {"i": spec}},
        headers=finance,
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    endpoint_id, _ = await outbound.endpoint(f"{receiver.url}/managed", ISSUED)
    listed = await outbound.client.post(
        f"{outbound.base}/graphql", json={"query": ENDPOINTS}, headers=finance
    )
    assert endpoint_id in {e["id"] for e in listed.json()["data"]["webhookEndpoints"]}

    updated = await outbound.gql(
        UPDATE, id=endpoint_id, i={"enabled": False, "description": "paused"}
    )
    assert updated["updateWebhookEndpoint"]["enabled"] is False
    e, invoice = engagement(), uuid.uuid4()
    await outbound.publish("billing", e.issued(invoice, D, "10.00"), str(invoice))
    # A later event for an endpoint that takes it shows the first one was consumed meanwhile.
    await outbound.endpoint(f"{receiver.url}/witness", ISSUED)
    invoice = uuid.uuid4()
    later = await outbound.publish("billing", e.issued(invoice, D, "11.00"), str(invoice))

    async def witnessed() -> list[str]:
        return [r.webhook_id for r in receiver.on("/witness")]

    await eventually(witnessed, until=lambda ids: later in ids, what="the later event")
    assert await outbound.deliveries(endpoint_id) == []
    assert receiver.on("/managed") == []

    assert (await outbound.gql(DELETE, id=endpoint_id))["deleteWebhookEndpoint"] is True
    assert (await outbound.gql(DELETE, id=endpoint_id))["deleteWebhookEndpoint"] is False
    gone = await outbound.post(
        "query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { node { id } } } }",
        e=endpoint_id,
    )
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_receiver_that_times_out_gets_it_again(
    outbound: OutboundStack, receiver: Receiver
) -> None:
    receiver.hold["/slow"] = receiver.release  # the first request never gets an answer
    endpoint_id, _ = await outbound.endpoint(f"{receiver.url}/slow", ISSUED)
    e, invoice = engagement(), uuid.uuid4()
    event_id = await outbound.publish("billing", e.issued(invoice, D, "10.00"), str(invoice))

    [delivery] = await outbound.settled(endpoint_id, 1)  # after the 2 s request timeout
    receiver.release.set()
    assert (delivery["status"], delivery["attempts"]) == ("DELIVERED", 2)
    assert [r.webhook_id for r in receiver.on("/slow")] == [event_id, event_id]
