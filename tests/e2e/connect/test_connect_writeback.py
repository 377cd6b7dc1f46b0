"""CRM write-back with the events published as their producers publish them, to test what a
real run rarely shows: events of three streams in any order (an older recognition arriving
late) leave the deal on the latest status, 429 honoured; no write-back unless configured; an
endpoint failing too long is disabled. The acceptance test with real billing, project and
revenue (an invoice issued and paid over GraphQL) is test_connect_writeback_billing.py."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping

import nats
import pytest
from google.protobuf.message import Message

from mesh.grpc.convert import money_to_proto
from mesh.money import Money
from services.revenue.domain.facts import BillingModel
from tests.conftest import Stack
from tests.e2e.connect.outbound_stack import (
    ENDPOINTS,
    SET_WRITEBACK,
    OutboundStack,
    running_outbound_stack,
)
from tests.e2e.connect.receivers import FakeHubSpot, Receiver, running
from tests.support import eventually
from tests.unit.revenue_fakes import Engagement
from weftwork.connect.v1 import events_pb2 as connect_events
from weftwork.revenue.v1 import events_pb2 as revenue
from weftwork.revenue.v1 import revenue_service_pb2 as revenue_pb

D = dt.date(2026, 3, 31)


@pytest.fixture(scope="module")
async def outbound(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[OutboundStack]:
    async with running_outbound_stack(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("writeback"),
        WEFTWORK_CONNECT_ENDPOINT_DISABLE_AFTER_SECONDS="1",
    ) as running_stack:
        yield running_stack


def won_in(system: str, record_id: str, entity: str = "UK01") -> tuple[Engagement, Message]:
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "GBP", entity)
    _, activated = e.activated()
    activated.engagement.opportunity.system = system  # type: ignore[attr-defined]
    activated.engagement.opportunity.external_id = record_id  # type: ignore[attr-defined]
    return e, activated


def recognized(e: Engagement, version: int, to_date: str) -> tuple[str, Message]:
    return "weftwork.revenue.revenue.recognized.v1", revenue.RevenueRecognized(
        engagement_id=str(e.id),
        version=version,
        journal_entry_id=str(uuid.uuid4()),
        legal_entity=e.entity,
        amount=money_to_proto(Money.of("1", e.currency)),
        position=revenue_pb.Position(
            engagement_id=str(e.id), recognized=money_to_proto(Money.of(to_date, e.currency))
        ),
    )


async def life_of(outbound: OutboundStack, e: Engagement, activated: Message) -> None:
    """Won, invoiced 1,200.00 (1,000.00 + VAT 200.00), paid 1,200.00, 900.00 recognized."""
    await outbound.publish("project", ("weftwork.project.engagement.activated.v1", activated),
                           str(e.id))  # fmt: skip
    invoice = uuid.uuid4()
    await outbound.publish("billing", e.issued(invoice, D, "1000.00", "200.00"), str(invoice))
    await outbound.publish("billing", e.paid(invoice, "pay-1", D, "1200.00"), str(invoice))
    await outbound.publish("revenue", recognized(e, 3, "900.00"), str(e.id))
    await outbound.publish("revenue", recognized(e, 2, "400.00"), str(e.id))  # late, older


async def test_events_in_any_order_leave_the_deal_on_the_latest_status_honouring_429(
    outbound: OutboundStack,
) -> None:
    hubspot = FakeHubSpot(token="pat-na1-test", deals={"9001": {"dealname": "Big deal"}})
    hubspot.throttle = 1
    async with running(hubspot):
        configured = await outbound.gql(
            SET_WRITEBACK,
            i={"source": "hubcrm", "kind": "HUBSPOT", "baseUrl": hubspot.server.url,
               "token": "pat-na1-test"},
        )  # fmt: skip
        writeback = configured["setCrmWriteBack"]
        assert writeback["hasToken"] and writeback["fields"]["paid"] == "weftwork_paid_amount"
        e, activated = won_in("hubcrm", "9001")
        await life_of(outbound, e, activated)

        want = {
            "dealname": "Big deal",
            "weftwork_engagement_code": activated.engagement.code,  # type: ignore[attr-defined]
            "weftwork_engagement_status": "ACTIVE",
            "weftwork_invoiced_amount": "1200.00",
            "weftwork_paid_amount": "1200.00",
            "weftwork_recognized_amount": "900.00",
        }
        await eventually(lambda: _copy(hubspot.deals["9001"]), until=lambda d: d == want,
                         within=30, what="the deal's properties")  # fmt: skip
        # Activation, the invoice, the payment and the newer recognition each make a
        # write-back, unless consumed before the activation (the activation's then carries
        # them): the CRM ends on the latest status either way.
        await eventually(lambda: outbound.deliveries(writeback["id"]),
                         until=lambda ds: bool(ds) and all(d["status"] == "DELIVERED" for d in ds),
                         what="the write-backs delivered")  # fmt: skip
        (t429, first), (t_after, _) = hubspot.requests[0], hubspot.requests[1]
        assert t_after - t429 >= 0.9  # Retry-After: 1, where the schedule says 0.05 s
        assert first["inputs"][0]["id"] == "9001"


async def test_no_write_back_unless_configured(outbound: OutboundStack) -> None:
    hubspot = FakeHubSpot(token="t", deals={"77": {}})
    async with running(hubspot):
        e, activated = won_in("unconfigured-crm", "77")
        await life_of(outbound, e, activated)
        endpoint_id, _ = await outbound.endpoint(
            f"{hubspot.server.url}/x",
            "weftwork.project.engagement.completed.v1",
        )
        await outbound.publish("project", e.completed(D), str(e.id))
        await outbound.settled(endpoint_id, 1)  # later than anything the CRM could have had
        assert hubspot.requests == []


async def test_an_endpoint_failing_for_longer_than_the_limit_is_disabled_with_an_event(
    outbound: OutboundStack, module_nats: str
) -> None:
    receiver = Receiver()
    async with running(receiver):
        endpoint_id, _ = await outbound.endpoint(
            f"{receiver.url}/down", "weftwork.billing.invoice.issued.v1"
        )
    nc = await nats.connect(module_nats)
    try:
        js = nc.jetstream()
        e, invoice = Engagement(BillingModel.TIME_AND_MATERIALS), uuid.uuid4()
        await outbound.publish("billing", e.issued(invoice, D, "10.00"), str(invoice))

        async def endpoint() -> dict[str, object]:
            found = (await outbound.gql(ENDPOINTS))["webhookEndpoints"]
            return next(x for x in found if x["id"] == endpoint_id)

        disabled = await eventually(endpoint, until=lambda x: x["enabled"] is False,
                                    within=30, what="the endpoint disabled")  # fmt: skip
        assert "failed since" in str(disabled["disabledReason"])

        async def disabled_events() -> list[connect_events.EndpointDisabled]:
            try:
                sub = await js.subscribe("weftwork.connect.endpoint.disabled.v1",
                                         ordered_consumer=True)  # fmt: skip
            except Exception:
                return []
            found = []
            try:
                while True:
                    msg = await sub.next_msg(timeout=0.5)
                    found.append(connect_events.EndpointDisabled.FromString(msg.data))
            except Exception:
                pass
            await sub.unsubscribe()
            return [x for x in found if x.endpoint_id == endpoint_id]

        [event] = await eventually(disabled_events, what="endpoint.disabled on CONNECT")
        assert event.url.endswith("/down") and event.reason
    finally:
        await nc.close()


async def _copy(d: Mapping[str, object]) -> dict[str, object]:
    return dict(d)
