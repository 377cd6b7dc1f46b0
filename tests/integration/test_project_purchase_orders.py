"""The customer's PO number of an engagement over real gRPC, PostgreSQL and NATS (DESIGN.md
§9): set at close-won, amended by SetPurchaseOrderNumber with one event per change, carried by
the activation of an engagement that waited for approval, refused naming the field."""

from __future__ import annotations

import grpc

from tests.integration.test_project_approval import eur, gated  # noqa: F401  (the fixture)
from tests.integration.test_project_grpc import (
    Running,
    account,
    counts,
    decoded,
    engagement,
    stream_events,
)
from tests.support import rpc_error
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import events_pb2
from weftwork.project.v1 import project_service_pb2 as pb

ACTIVATED = "weftwork.project.engagement.activated.v1"
PO_SET = "weftwork.project.engagement.purchase_order_set.v1"


def set_po(engagement_id: str, number: str) -> pb.SetPurchaseOrderNumberRequest:
    return pb.SetPurchaseOrderNumberRequest(
        engagement_id=engagement_id, purchase_order_number=number
    )


async def test_a_po_set_at_close_won_is_amended_with_one_event_per_change(
    gated: Running,  # noqa: F811
) -> None:
    e = await engagement(gated, legal_entity="UK01", purchase_order_number=" PO-1 ")
    assert (e.purchase_order_number, e.version) == ("PO-1", 1)
    amended = (await gated.project.SetPurchaseOrderNumber(set_po(e.id, "PO-2"))).engagement
    assert (amended.purchase_order_number, amended.version) == ("PO-2", 2)
    again = (await gated.project.SetPurchaseOrderNumber(set_po(e.id, "PO-2"))).engagement
    assert again == amended  # the same number: no new version, no event
    read = (await gated.project.GetEngagement(pb.GetEngagementRequest(id=e.id))).engagement
    assert read.purchase_order_number == "PO-2"
    first, second = await stream_events(gated, e.id)
    assert (first.subject, second.subject) == (ACTIVATED, PO_SET)
    assert decoded(first, events_pb2.EngagementActivated).engagement.purchase_order_number == "PO-1"
    changed = decoded(second, events_pb2.PurchaseOrderNumberSet)
    assert (changed.purchase_order_number, changed.version) == ("PO-2", 2)
    cleared = (await gated.project.SetPurchaseOrderNumber(set_po(e.id, ""))).engagement
    assert (cleared.purchase_order_number, cleared.version) == ("", 3)


async def test_a_waiting_engagement_tells_its_po_and_billing_details_with_its_activation(
    gated: Running,  # noqa: F811
) -> None:
    buyer = account()
    buyer.billing_contact.CopyFrom(customer_pb.BillingContact(name="AP", email="ap@globex.co.uk"))
    buyer.billing_address.CopyFrom(
        customer_pb.PostalAddress(lines=["1 Long Acre"], city="London", country="GB")
    )
    e = await engagement(
        gated, legal_entity="DE01", currency="EUR", contract_value=eur("50000"), account=buyer
    )
    assert e.status == pb.ENGAGEMENT_STATUS_PENDING_APPROVAL
    await gated.project.SetPurchaseOrderNumber(set_po(e.id, "PO-DE-9"))
    assert await stream_events(gated, e.id) == []  # billing does not know it yet
    await gated.project.ApproveEngagement(pb.ApproveEngagementRequest(id=e.id))
    [msg] = await stream_events(gated, e.id)
    activated = decoded(msg, events_pb2.EngagementActivated)
    assert activated.engagement.purchase_order_number == "PO-DE-9"
    # Held with the activation, so billing can print them without waiting on the customer's.
    assert activated.customer.billing_contact.email == "ap@globex.co.uk"
    assert list(activated.customer.billing_address.lines) == ["1 Long Acre"]


async def test_bad_po_numbers_and_billing_details_are_refused_writing_nothing(
    gated: Running,  # noqa: F811
) -> None:
    e = await engagement(gated, legal_entity="UK01")
    before = await counts(gated.db)
    for number in ("P" * 65, "PO\x07"):
        code, _, violations = await rpc_error(
            gated.project.SetPurchaseOrderNumber(set_po(e.id, number))
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in violations] == ["purchase_order_number"]
    code, _, _ = await rpc_error(
        gated.project.SetPurchaseOrderNumber(set_po("00000000-0000-4000-8000-000000000000", "X"))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    code, _, violations = await rpc_error(
        gated.project.CreateEngagementFromOpportunity(
            pb.CreateEngagementFromOpportunityRequest(
                source="salesforce",
                opportunity_id="opp-bad-address",
                account=pb.OpportunityAccount(
                    external_id="acc-bad-address",
                    name="Initech",
                    country="GB",
                    billing_address=customer_pb.PostalAddress(lines=["1 Road"], country="GB"),
                ),
                name="x",
                legal_entity="UK01",
                currency="GBP",
                billing_model=pb.BILLING_MODEL_TIME_AND_MATERIALS,
                start_date=e.start_date,
                end_date=e.end_date,
                rate_card=[pb.RateCardLine(role="Consultant", bill_rate="1", cost_rate="1")],
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in violations] == ["account.billing_address.city"]
    assert await counts(gated.db) == before
