"""Standard Webhooks over real HTTP: gateway /hooks -> connect -> project (issue #15 acceptance).

A signed `opportunity.won` becomes an engagement; the same webhook-id again creates nothing;
a tampered body is 401 and stores nothing; a deal in a currency the mapping does not take is
an OPEN exception that a retry after fixing the mapping RESOLVES into one engagement.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import nats
import pytest

from tests.e2e.connect.hooks import (
    BY_OPPORTUNITY,
    CREATE_SOURCE,
    DISMISS,
    EXCEPTIONS,
    RECEIPTS,
    RETRY,
    UPDATE_SOURCE,
    nodes,
    standard_body,
    standard_headers,
    won_data,
)
from tests.e2e.connect.stack import ConnectStack
from tests.support import eventually
from weftwork.connect.v1 import events_pb2 as connect_events

MAPPING = {"currencies": ["USD", "GBP", "EUR"], "defaults": {"legalEntity": "US01"}}


@pytest.fixture(scope="module")
async def source(connect_stack: ConnectStack) -> tuple[str, str]:
    name = f"partner-{uuid.uuid4().hex[:6]}"
    created = await connect_stack.gql(
        CREATE_SOURCE, i={"name": name, "kind": "STANDARD_WEBHOOKS", "mapping": MAPPING}
    )
    secret = created["createInboundSource"]["secret"]
    assert secret.startswith("whsec_")
    assert created["createInboundSource"]["source"]["hookPath"] == f"/hooks/{name}"
    return name, secret


async def receipts(stack: ConnectStack, name: str) -> list[dict[str, Any]]:
    return nodes((await stack.gql(RECEIPTS, s=name))["receipts"])


async def settled(stack: ConnectStack, name: str, count: int) -> list[dict[str, Any]]:
    return await eventually(
        lambda: receipts(stack, name),
        until=lambda rs: len(rs) == count and all(r["status"] != "PENDING" for r in rs),
        what=f"{count} receipts of {name} settled",
    )


async def test_a_signed_opportunity_won_creates_the_engagement_once(
    connect_stack: ConnectStack, source: tuple[str, str]
) -> None:
    name, secret = source
    body = standard_body(won_data("OPP-1"))
    headers = standard_headers(secret, body, webhook_id="msg_opp_1")

    first = await connect_stack.hook(name, body, headers)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 1, "duplicates": 0}

    [receipt] = await settled(connect_stack, name, 1)
    assert receipt["status"] == "PROCESSED", receipt
    assert receipt["customerMatchedBy"] == "CREATED"
    assert receipt["engagement"]["opportunity"] == {"system": name, "externalId": "OPP-1"}
    assert receipt["engagement"]["customer"]["name"] == "Client OPP-1 Inc"

    again = await connect_stack.hook(
        name, body, standard_headers(secret, body, webhook_id="msg_opp_1")
    )
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert [r["id"] for r in await receipts(connect_stack, name)] == [receipt["id"]]
    found = await connect_stack.gql(BY_OPPORTUNITY, s=name, o="OPP-1")
    assert found["engagementByOpportunity"]["id"] == receipt["engagement"]["id"]


async def test_bad_requests_store_nothing(
    connect_stack: ConnectStack, source: tuple[str, str]
) -> None:
    name, secret = source
    before = len(await receipts(connect_stack, name))
    body = standard_body(won_data("OPP-TAMPER"))
    headers = standard_headers(secret, body)
    tampered = body.replace(b"150.00", b"151.00")
    assert (await connect_stack.hook(name, tampered, headers)).status_code == 401
    unsigned = {"content-type": "application/json"}
    assert (await connect_stack.hook(name, body, unsigned)).status_code == 401
    garbage = b"{not json"
    assert (
        await connect_stack.hook(name, garbage, standard_headers(secret, garbage))
    ).status_code == 400
    assert (await connect_stack.hook("no-such-source", body, headers)).status_code == 404
    big = b"{" + b" " * 1_000_100 + b"}"
    assert (await connect_stack.hook(name, big, standard_headers(secret, big))).status_code == 413
    assert len(await receipts(connect_stack, name)) == before


async def test_unsupported_currency_is_an_exception_until_the_mapping_takes_it(
    connect_stack: ConnectStack, source: tuple[str, str]
) -> None:
    name, secret = source
    body = standard_body(won_data("OPP-CHF", currency="CHF"))
    assert (await connect_stack.hook(name, body, standard_headers(secret, body))).status_code == 202

    async def opened() -> list[dict[str, Any]]:
        return nodes(
            (await connect_stack.gql(EXCEPTIONS, s=name, st="OPEN"))["integrationExceptions"]
        )

    [exception] = await eventually(opened, what="an OPEN exception for CHF")
    assert exception["externalId"] == "OPP-CHF"
    assert exception["reason"].startswith("UNSUPPORTED_CURRENCY: CHF")
    assert (await connect_stack.post(BY_OPPORTUNITY, s=name, o="OPP-CHF"))["data"][
        "engagementByOpportunity"
    ] is None

    fixed = {**MAPPING, "currencies": [*MAPPING["currencies"], "CHF"]}
    updated = await connect_stack.gql(UPDATE_SOURCE, n=name, i={"mapping": fixed})
    assert "CHF" in updated["updateInboundSource"]["mapping"]["currencies"]
    retried = await connect_stack.gql(RETRY, id=exception["id"])
    assert retried["retryIntegrationException"]["status"] in {"RETRIED", "RESOLVED"}

    async def resolved() -> list[dict[str, Any]]:
        found = await connect_stack.gql(EXCEPTIONS, s=name, st="RESOLVED")
        return nodes(found["integrationExceptions"])

    [done] = await eventually(resolved, what="the exception RESOLVED")
    assert done["id"] == exception["id"] and done["retries"] == 1
    engagement = (await connect_stack.gql(BY_OPPORTUNITY, s=name, o="OPP-CHF"))[
        "engagementByOpportunity"
    ]
    assert engagement["currency"] == "CHF" and engagement["id"] == done["engagement"]["id"]
    # Settled exceptions cannot be retried or dismissed again.
    again = await connect_stack.post(RETRY, id=exception["id"])
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_an_exception_can_be_dismissed_with_a_reason(
    connect_stack: ConnectStack, source: tuple[str, str]
) -> None:
    name, secret = source
    data = won_data("OPP-NOENTITY")
    data["legalEntity"] = "XX99"
    body = standard_body(data)
    assert (await connect_stack.hook(name, body, standard_headers(secret, body))).status_code == 202

    async def refused() -> list[dict[str, Any]]:
        found = nodes(
            (await connect_stack.gql(EXCEPTIONS, s=name, st="OPEN"))["integrationExceptions"]
        )
        return [e for e in found if e["externalId"] == "OPP-NOENTITY"]

    [exception] = await eventually(refused, what="project's refusal as an exception")
    assert exception["reason"].startswith("REFUSED:") and "legal_entity" in exception["reason"]
    dismissed = await connect_stack.gql(DISMISS, id=exception["id"], r="test deal")
    assert dismissed["dismissIntegrationException"] == {
        "id": exception["id"],
        "status": "DISMISSED",
        "dismissReason": "test deal",
    }


async def test_only_admins_manage_and_finance_reads(
    connect_stack: ConnectStack, source: tuple[str, str]
) -> None:
    name, _ = source
    finance = {"Authorization": f"Bearer {connect_stack.token('finance')}"}
    sales = {"Authorization": f"Bearer {connect_stack.token('sales')}"}
    read = await connect_stack.post(RECEIPTS, headers=finance, s=name)
    assert "errors" not in read
    denied = await connect_stack.post(RECEIPTS, headers=sales, s=name)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    create = await connect_stack.post(
        CREATE_SOURCE, headers=finance, i={"name": "nope", "kind": "STANDARD_WEBHOOKS"}
    )
    assert create["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_mapping_is_validated_on_save_with_every_mistake_named(
    connect_stack: ConnectStack,
) -> None:
    bad = {"wonStages": "closedwon", "fields": {"price": "amount"}, "currencies": ["ZZZ"]}
    answer = await connect_stack.post(
        CREATE_SOURCE, i={"name": "badmap", "kind": "HUBSPOT", "secret": "s", "mapping": bad}
    )
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    fields = {v["field"] for v in error["extensions"]["fieldViolations"]}
    assert {"mapping.wonStages", "mapping.fields.price", "mapping.currencies[0]"} <= fields, (
        json.dumps(error)
    )


async def accepted_on_stream(nats_url: str, source: str) -> list[tuple[dict[str, str], Any]]:
    """receipt.accepted events of `source` on the CONNECT stream: (headers, message)."""
    nc = await nats.connect(nats_url)
    found = []
    try:
        sub = await nc.jetstream().subscribe(
            "weftwork.connect.receipt.accepted.v1", ordered_consumer=True
        )
        with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
            while True:
                msg = await sub.next_msg(timeout=0.5)
                event = connect_events.ReceiptAccepted.FromString(msg.data)
                if event.source == source:
                    found.append((dict(msg.headers or {}), event))
        await sub.unsubscribe()
    finally:
        await nc.close()
    return found


async def test_each_stored_receipt_is_announced_once_on_the_connect_stream(
    connect_stack: ConnectStack, source: tuple[str, str]
) -> None:
    """The receipt and its receipt.accepted are written by one statement; a duplicate
    writes neither."""
    name, secret = source
    for webhook_id in ("msg_announce_1", "msg_announce_2", "msg_announce_1"):
        body = standard_body(won_data(f"ANN-{webhook_id[-1]}"))
        answer = await connect_stack.hook(
            name, body, standard_headers(secret, body, webhook_id=webhook_id)
        )
        assert answer.status_code == 202, answer.text
    stored = {r["eventId"]: r["id"] for r in await receipts(connect_stack, name)}
    announced = await eventually(
        lambda: accepted_on_stream(connect_stack.env["WEFTWORK_NATS_URL"], name),
        until=lambda found: {e.event_id for _, e in found} >= {"msg_announce_1", "msg_announce_2"},
        what="receipt.accepted on CONNECT",
    )
    ours = [(h, e) for h, e in announced if e.event_id.startswith("msg_announce_")]
    assert sorted(e.event_id for _, e in ours) == ["msg_announce_1", "msg_announce_2"]
    for headers, event in ours:
        assert event.receipt_id == stored[event.event_id]
        assert headers["ce-source"] == "/weftwork/connect"
        assert headers["ce-subject"] == event.receipt_id
