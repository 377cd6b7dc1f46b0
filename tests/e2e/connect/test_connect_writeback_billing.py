"""CRM write-back driven by the real services (issue #15 acceptance, "Write-back"): a deal won
in HubSpot (an Opportunity won in Salesforce) becomes an engagement; time is approved, billing
drafts, issues and is paid an invoice over GraphQL; the events come from billing, project and
revenue as they run, and connect writes the engagement's code, status, invoiced, paid and
recognized amounts back onto the deal (Opportunity) on a local server that answers as the
vendor's API documents, honouring HubSpot's 429 with Retry-After and Salesforce's
REQUEST_LIMIT_EXCEEDED."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Stack
from tests.e2e.connect.outbound_stack import SET_WRITEBACK, SHORT_SCHEDULE
from tests.e2e.connect.receivers import FakeHubSpot, FakeSalesforce, running
from tests.e2e.platform import Platform, gql, running_platform
from tests.e2e.test_gateway_flows import (
    ISSUE,
    PAY,
    close_won,
    draft_for,
    opportunity,
    position_when,
    record_time,
)
from tests.support import eventually

DELIVERIES = """query($e: ID!) {
  webhookDeliveries(endpointId: $e, first: 100) { edges { node { status eventType } } }
}"""


@pytest.fixture(scope="module")
async def platform(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Customer, project, billing, revenue and connect; the CRM servers are local http."""
    async with running_platform(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("writeback-billing"),
        connect=True,
        **SHORT_SCHEDULE,
    ) as p:
        yield p


async def invoice_and_pay(api: Platform, source: str, record_id: str, ref: str) -> dict[str, Any]:
    """Won in `source` as `record_id`; 8 h approved at 150.00 (1,200.00 recognized); the
    invoice drafted, issued and paid in full, through billing. The engagement and invoice."""
    won = {**opportunity(ref, "UK01", "GBP", "TIME_AND_MATERIALS"), "source": source,
           "opportunityId": record_id}  # fmt: skip
    engagement = await close_won(api, **won)
    await record_time(api, engagement["id"], f"p-{ref.lower()}", [("2026-01-05", "8", True)])
    await position_when(api, engagement["id"], recognized="1200.00")
    invoice_id = await draft_for(api, engagement["id"], "2026-01-31")
    issued = (await gql(api, ISSUE, id=invoice_id, d="2026-02-02"))["issueInvoice"]
    total = issued["total"]["amount"]
    paid = (await gql(api, PAY, id=invoice_id, a=total, d="2026-02-20", r=f"wire-{ref}"))[
        "recordPayment"
    ]
    assert paid["status"] == "PAID"
    return {**engagement, "total": Decimal(total)}


async def delivered(api: Platform, writeback_id: str) -> None:
    """Every write-back made, and none left PENDING or FAILED."""

    async def deliveries() -> list[dict[str, Any]]:
        body = await gql(api, DELIVERIES, e=writeback_id)
        return [e["node"] for e in body["webhookDeliveries"]["edges"]]

    await eventually(
        deliveries,
        until=lambda ds: bool(ds) and all(d["status"] == "DELIVERED" for d in ds),
        within=60,
        what="the write-backs delivered",
    )


async def test_a_real_invoice_issued_and_paid_updates_the_hubspot_deal_honouring_429(
    platform: Platform,
) -> None:
    hubspot = FakeHubSpot(token="pat-na1-billing", deals={"7001": {"dealname": "Real deal"}})
    hubspot.throttle = 1  # the first request gets 429 with Retry-After: 1
    async with running(hubspot):
        configured = await gql(
            platform,
            SET_WRITEBACK,
            i={"source": "hubbill", "kind": "HUBSPOT", "baseUrl": hubspot.server.url,
               "token": "pat-na1-billing"},
        )  # fmt: skip
        writeback = configured["setCrmWriteBack"]
        engagement = await invoice_and_pay(platform, "hubbill", "7001", "HB-1")
        # 1,200.00 + UK VAT: whatever billing issued is what the deal shows, invoiced and paid.
        assert engagement["total"] > Decimal("1200.00")
        want = {
            "dealname": "Real deal",
            "weftwork_engagement_code": engagement["code"],
            "weftwork_engagement_status": "ACTIVE",
            "weftwork_invoiced_amount": str(engagement["total"]),
            "weftwork_paid_amount": str(engagement["total"]),
            "weftwork_recognized_amount": "1200.00",
        }
        await eventually(
            lambda: _copy(hubspot.deals["7001"]),
            until=lambda d: d == want,
            within=60,
            what="the deal's properties",
        )
        await delivered(platform, writeback["id"])
        (throttled_at, first), (retried_at, _) = hubspot.requests[0], hubspot.requests[1]
        assert retried_at - throttled_at >= 0.9  # Retry-After: 1, where backoff says 0.05 s
        assert first["inputs"][0]["id"] == "7001"


async def test_a_real_invoice_issued_and_paid_updates_the_salesforce_opportunity(
    platform: Platform,
) -> None:
    opportunity_id = "0065g00000BiLlEAAZ"
    salesforce = FakeSalesforce(token="00Dxx!billing", opportunities={opportunity_id: {}})
    salesforce.throttle = 1  # 403 REQUEST_LIMIT_EXCEEDED once: a rate limit, retried
    async with running(salesforce):
        configured = await gql(
            platform,
            SET_WRITEBACK,
            i={"source": "sfbill", "kind": "SALESFORCE", "baseUrl": salesforce.server.url,
               "token": "00Dxx!billing", "fields": {"currency": "Weftwork_Currency__c"}},
        )  # fmt: skip
        engagement = await invoice_and_pay(platform, "sfbill", opportunity_id, "SB-1")
        want = {
            "Weftwork_Engagement_Code__c": engagement["code"],
            "Weftwork_Engagement_Status__c": "ACTIVE",
            "Weftwork_Invoiced_Amount__c": float(engagement["total"]),
            "Weftwork_Paid_Amount__c": float(engagement["total"]),
            "Weftwork_Recognized_Amount__c": 1200.0,
            "Weftwork_Currency__c": "GBP",
        }
        await eventually(
            lambda: _copy(salesforce.opportunities[opportunity_id]),
            until=lambda o: o == want,
            within=60,
            what="the opportunity's fields",
        )
        await delivered(platform, configured["setCrmWriteBack"]["id"])
        codes = [fields for _, record, fields in salesforce.requests if record == opportunity_id]
        assert len(codes) >= 2, "the throttled write-back was made again"


async def _copy(d: Mapping[str, object]) -> dict[str, object]:
    return dict(d)
