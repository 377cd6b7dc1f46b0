"""HubSpot over real HTTP: v3 signatures, the Webhooks API batch with a read-back of the deal
and its company from a local server answering as HubSpot's CRM v3 API (429 included), and a
workflow "Send a webhook" payload."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.connect.domain.hubspot import sign_v3
from tests.e2e.connect.fake_crm import FakeHubSpot, serving_app
from tests.e2e.connect.hooks import BY_OPPORTUNITY, CREATE_SOURCE, RECEIPTS, nodes
from tests.e2e.connect.stack import ConnectStack
from tests.support import eventually

CLIENT_SECRET = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"
MAPPING = {
    "wonStages": ["closedwon"],
    "defaults": {
        "legalEntity": "US01",
        "currency": "USD",
        "billingModel": "TIME_AND_MATERIALS",
        "template": {
            "rateCard": [{"role": "consultant", "billRate": "175", "costRate": "95"}],
            "durationDays": 120,
        },
    },
}


@pytest.fixture(scope="module")
async def crm() -> AsyncIterator[tuple[FakeHubSpot, str]]:
    fake = FakeHubSpot(token=TOKEN)
    fake.companies["9001"] = {
        "name": "Globex Corporation",
        "domain": "globex.example",
        "country": "United States",
    }
    fake.deals["4242"] = {
        "company": "9001",
        "properties": {
            "dealname": "Globex platform rollout",
            "amount": "120000.50",
            "deal_currency_code": "USD",
            "closedate": "2026-11-30T17:00:00.000Z",
            "dealstage": "closedwon",
        },
    }
    async with serving_app(fake.app()) as base:
        yield fake, base


@pytest.fixture(scope="module")
async def hubspot(connect_stack: ConnectStack, crm: tuple[FakeHubSpot, str]) -> str:
    name = f"hubspot-{uuid.uuid4().hex[:6]}"
    await connect_stack.gql(
        CREATE_SOURCE,
        i={
            "name": name,
            "kind": "HUBSPOT",
            "secret": CLIENT_SECRET,
            "apiToken": TOKEN,
            "apiBaseUrl": crm[1],
            "mapping": MAPPING,
        },
    )
    return name


def signed(
    stack: ConnectStack,
    name: str,
    body: bytes,
    *,
    at_ms: int | None = None,
    timestamp: str | None = None,
) -> dict[str, str]:
    """Headers as HubSpot sends them: v3 over POST + the URI it called + body + timestamp."""
    stamp = timestamp or str(at_ms if at_ms is not None else int(time.time() * 1000))
    uri = f"{stack.base}/hooks/{name}"
    return {
        "content-type": "application/json",
        "x-hubspot-request-timestamp": stamp,
        "x-hubspot-signature-v3": sign_v3(CLIENT_SECRET, "POST", uri, body, stamp),
    }


def batch(*events: dict[str, Any]) -> bytes:
    return json.dumps(list(events)).encode()


def stage_change(event_id: int, deal: int, stage: str) -> dict[str, Any]:
    """One event of a Webhooks API batch, as HubSpot documents it."""
    return {
        "eventId": event_id,
        "subscriptionId": 2345,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": deal,
        "propertyName": "dealstage",
        "propertyValue": stage,
        "changeSource": "CRM",
    }


async def receipts(stack: ConnectStack, name: str) -> list[dict[str, Any]]:
    return nodes((await stack.gql(RECEIPTS, s=name))["receipts"])


async def test_signatures_follow_hubspot_v3(connect_stack: ConnectStack, hubspot: str) -> None:
    body = batch(stage_change(1, 777, "appointmentscheduled"))
    good = signed(connect_stack, hubspot, body)
    changed = body.replace(b"777", b"778")
    assert (await connect_stack.hook(hubspot, changed, good)).status_code == 401
    old = signed(connect_stack, hubspot, body, at_ms=int((time.time() - 360) * 1000))
    assert (await connect_stack.hook(hubspot, body, old)).status_code == 401
    now = int(time.time() * 1000)
    floating = signed(connect_stack, hubspot, body, timestamp=f"{now}.0")
    assert (await connect_stack.hook(hubspot, body, floating)).status_code == 401
    assert await receipts(connect_stack, hubspot) == []

    accepted = await connect_stack.hook(hubspot, body, good)
    assert accepted.status_code == 202, accepted.text
    [skipped] = await eventually(
        lambda: receipts(connect_stack, hubspot),
        until=lambda rs: len(rs) == 1 and rs[0]["status"] != "PENDING",
        what="the stage change settled",
    )
    assert skipped["status"] == "SKIPPED"
    assert "not a won stage" in skipped["lastError"]


async def test_a_won_deal_is_read_back_from_the_crm_api_and_becomes_an_engagement(
    connect_stack: ConnectStack, hubspot: str, crm: tuple[FakeHubSpot, str]
) -> None:
    fake, _ = crm
    fake.rate_limit_next = 1  # HubSpot's 429 with Retry-After first
    body = batch(stage_change(3816279340, 4242, "closedwon"))
    answer = await connect_stack.hook(hubspot, body, signed(connect_stack, hubspot, body))
    assert answer.status_code == 202 and answer.json()["accepted"] == 1

    found = await eventually(
        lambda: receipts(connect_stack, hubspot),
        until=lambda rs: any(
            r["eventId"] == "3816279340" and r["status"] == "PROCESSED" for r in rs
        ),
        within=30,
        what="the won deal processed",
    )
    receipt = next(r for r in found if r["eventId"] == "3816279340")
    assert receipt["attempts"] == 2, "the 429 was retried after Retry-After"
    assert receipt["customerMatchedBy"] == "CREATED"
    assert receipt["engagement"]["customer"]["name"] == "Globex Corporation"
    engagement = (await connect_stack.gql(BY_OPPORTUNITY, s=hubspot, o="4242"))[
        "engagementByOpportunity"
    ]
    assert engagement["id"] == receipt["engagement"]["id"] and engagement["currency"] == "USD"
    deal_reads = [r for r in fake.requests if "/deals/4242" in r]
    assert len(deal_reads) == 2 and "associations=companies" in deal_reads[-1]


async def test_a_workflow_send_a_webhook_payload_becomes_an_engagement(
    connect_stack: ConnectStack, hubspot: str, crm: tuple[FakeHubSpot, str]
) -> None:
    fake, _ = crm
    fake.companies["9002"] = {"name": "Initech LLC", "domain": "initech.example", "country": "US"}
    # The deal as the CRM holds it (the workflow's own properties win where both have one).
    fake.deals["5150"] = {"company": "9002", "properties": {"dealname": "Initech (CRM name)"}}
    payload = {
        "objectId": 5150,
        "properties": {
            "dealname": {"value": "Initech audit"},
            "amount": {"value": "9000"},
            "deal_currency_code": {"value": "USD"},
            "closedate": {"value": "1767225600000"},
            "dealstage": {"value": "closedwon"},
            "hs_object_id": {"value": "5150"},
        },
    }
    body = json.dumps(payload).encode()
    answer = await connect_stack.hook(hubspot, body, signed(connect_stack, hubspot, body))
    assert answer.status_code == 202

    async def engagement() -> dict[str, Any]:
        found: dict[str, Any] = (await connect_stack.gql(BY_OPPORTUNITY, s=hubspot, o="5150"))[
            "engagementByOpportunity"
        ]
        return found

    created = await eventually(engagement, within=30, what="the workflow deal's engagement")
    assert created["currency"] == "USD"
    assert created["customer"]["name"] == "Initech LLC"  # the company, read back from the CRM


async def test_a_deal_created_already_won_becomes_an_engagement(
    connect_stack: ConnectStack, hubspot: str, crm: tuple[FakeHubSpot, str]
) -> None:
    fake, _ = crm
    fake.deals["6060"] = {
        "company": "9001",
        "properties": {
            "dealname": "Imported win",
            "amount": "5000",
            "closedate": "2026-10-01",
            "dealstage": "closedwon",
            "deal_currency_code": "USD",
        },
    }
    created = {**stage_change(4001, 6060, ""), "subscriptionType": "deal.creation"}
    del created["propertyName"], created["propertyValue"]
    body = batch(created)
    assert (
        await connect_stack.hook(hubspot, body, signed(connect_stack, hubspot, body))
    ).status_code == 202

    async def engagement() -> dict[str, Any]:
        found: dict[str, Any] = (await connect_stack.gql(BY_OPPORTUNITY, s=hubspot, o="6060"))[
            "engagementByOpportunity"
        ]
        return found

    assert (await eventually(engagement, within=30, what="the imported deal's engagement"))[
        "customer"
    ]["name"] == "Globex Corporation"
