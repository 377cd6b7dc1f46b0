"""The whole product through GraphQL only: close-won -> time -> approve -> bill -> issue -> pay ->
complete, for each billing model, with every expected number worked out by hand below.

All four services run on real sockets with real PostgreSQL and JetStream; the gateway is the
real Starlette app. Revenue and billing follow events, so their numbers are polled for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.e2e.platform import Platform, gql
from tests.support import eventually

CLOSE_WON = """
mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) {
    customerMatchedBy
    engagement { id code status milestones { id name } }
  }
}"""
PERSON = """mutation($p: PersonInput!) { upsertPerson(input: $p) { id } }"""
SUBMIT = """mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id status } }"""
APPROVE = (
    """mutation($ids: [ID!]!) { approveTime(ids: $ids) { id status billAmount { amount } } }"""
)
RUN = """mutation($c: Date!, $e: ID) { runBilling(cutoff: $c, engagementId: $e) { id status } }"""
ISSUE = """mutation($id: ID!, $d: Date!) {
  issueInvoice(id: $id, issueDate: $d) {
    number status dueDate subtotal { amount } tax { amount } total { amount } taxNote
  }
}"""
PAY = """mutation($id: ID!, $a: Decimal!, $d: Date!, $r: String!) {
  recordPayment(invoiceId: $id, amount: $a, receivedOn: $d, reference: $r) {
    status amountPaid { amount } balance { amount }
  }
}"""
MILESTONE = (
    """mutation($id: ID!, $d: Date!) { completeMilestone(id: $id, completedOn: $d) { status } }"""
)
COMPLETE = (
    """mutation($id: ID!, $d: Date!) { completeEngagement(id: $id, completedOn: $d) { status } }"""
)
VIEW = """query($id: ID!) {
  engagement(id: $id) {
    status
    customer { name country }
    setup { project billing revenue }
    invoices { number status total { amount currency } }
    revenue {
      recognized { amount } billed { amount } unbilled { amount } deferred { amount }
      cost { amount } margin { amount } marginPercent percentComplete
    }
    timeline { type }
  }
}"""


def opportunity(ref: str, entity: str, currency: str, model: str, **terms: Any) -> dict[str, Any]:
    country = {"US01": "US", "UK01": "GB", "DE01": "FR"}[entity]
    return {
        "source": "salesforce",
        "opportunityId": ref,
        "account": {"externalId": f"acc-{ref}", "name": f"Client {ref} Ltd", "country": country},
        "name": f"Engagement {ref}",
        "legalEntity": entity,
        "currency": currency,
        "billingModel": model,
        "startDate": "2026-01-01",
        "endDate": "2026-12-31",
        "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
        **terms,
    }


async def close_won(api: Platform, **opp: Any) -> dict[str, Any]:
    data = await gql(api, CLOSE_WON, input=opp)
    engagement: dict[str, Any] = data["closeWonOpportunity"]["engagement"]
    assert engagement["status"] == "ACTIVE"
    return engagement


async def record_time(
    api: Platform, engagement_id: str, person: str, entries: list[tuple[str, str, bool]]
) -> list[dict[str, Any]]:
    await gql(api, PERSON, p={"id": person, "name": person.title(), "homeEntity": "US01"})
    submitted = await gql(
        api,
        SUBMIT,
        e=[
            {
                "engagementId": engagement_id,
                "personId": person,
                "role": "consultant",
                "date": day,
                "hours": hours,
                "billable": billable,
            }
            for day, hours, billable in entries
        ],
    )
    ids = [t["id"] for t in submitted["submitTime"]]
    approved = await gql(api, APPROVE, ids=ids)
    rows: list[dict[str, Any]] = approved["approveTime"]
    assert {t["status"] for t in rows} == {"APPROVED"}
    return rows


async def position_when(api: Platform, engagement_id: str, **expected: str) -> dict[str, Any]:
    """Poll the engagement view until revenue shows the expected amounts."""

    def matches(view: dict[str, Any]) -> bool:
        revenue = view["engagement"]["revenue"]
        return revenue is not None and all(
            Decimal(revenue[k]["amount"]) == Decimal(v) for k, v in expected.items()
        )

    view = await eventually(
        lambda: gql(api, VIEW, id=engagement_id),
        until=matches,
        within=30,
        what=f"revenue {expected}",
    )
    engagement: dict[str, Any] = view["engagement"]
    return engagement


async def draft_for(api: Platform, engagement_id: str, cutoff: str) -> str:
    async def run() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await gql(api, RUN, c=cutoff, e=engagement_id))["runBilling"]
        return found

    drafts = await eventually(run, what="billing to draft the engagement's items")
    assert [d["status"] for d in drafts] == ["DRAFT"]
    return str(drafts[0]["id"])


async def test_time_and_materials_from_close_won_to_paid(api: Platform) -> None:
    engagement = await close_won(api, **opportunity("TM-1", "US01", "USD", "TIME_AND_MATERIALS"))
    eid = engagement["id"]
    rows = await record_time(
        api,
        eid,
        "ann",
        [("2026-01-05", "8", True), ("2026-01-06", "7.5", True), ("2026-01-07", "2", False)],
    )
    # 8 h x 150 = 1,200.00; 7.5 h x 150 = 1,125.00; non-billable 2 h x 150 = 300.00 (never billed)
    assert [Decimal(r["billAmount"]["amount"]) for r in rows] == [
        Decimal("1200.00"),
        Decimal("1125.00"),
        Decimal("300.00"),
    ]
    # Revenue: billable time only, 1,200 + 1,125 = 2,325.00. Cost: 17.5 h x 90 = 1,575.00.
    await position_when(api, eid, recognized="2325.00", cost="1575.00")
    invoice_id = await draft_for(api, eid, "2026-01-31")
    issued = (await gql(api, ISSUE, id=invoice_id, d="2026-02-02"))["issueInvoice"]
    # US01 charges no tax; due 30 days after issue.
    assert issued["number"] == "US01-2026-000001"
    assert issued["dueDate"] == "2026-03-04"
    assert [Decimal(issued[k]["amount"]) for k in ("subtotal", "tax", "total")] == [
        Decimal("2325.00"),
        Decimal("0.00"),
        Decimal("2325.00"),
    ]
    partly = (await gql(api, PAY, id=invoice_id, a="1000.00", d="2026-02-20", r="wire-1"))[
        "recordPayment"
    ]
    assert (partly["status"], Decimal(partly["balance"]["amount"])) == (
        "PARTIALLY_PAID",
        Decimal("1325.00"),
    )
    paid = (await gql(api, PAY, id=invoice_id, a="1325.00", d="2026-03-01", r="wire-2"))[
        "recordPayment"
    ]
    assert (paid["status"], Decimal(paid["balance"]["amount"])) == ("PAID", Decimal("0.00"))
    await gql(api, COMPLETE, id=eid, d="2026-03-31")
    # Billed 2,325 = recognized: no contract asset or liability. Margin 2,325 - 1,575 = 750.00.
    view = await position_when(
        api,
        eid,
        recognized="2325.00",
        billed="2325.00",
        unbilled="0.00",
        deferred="0.00",
        margin="750.00",
    )
    assert view["status"] == "COMPLETED"
    assert view["setup"] == {"project": True, "billing": True, "revenue": True}
    assert view["customer"]["country"] == "US"
    assert [(i["number"], i["status"]) for i in view["invoices"]] == [("US01-2026-000001", "PAID")]
    kinds = [e["type"] for e in view["timeline"]]
    assert kinds[0] == "weftwork.project.engagement.activated.v1"
    assert "weftwork.billing.invoice.issued.v1" in kinds
    assert "weftwork.billing.payment.recorded.v1" in kinds


async def test_fixed_fee_recognizes_by_hours_and_bills_by_milestone(api: Platform) -> None:
    engagement = await close_won(
        api,
        **opportunity(
            "FF-1",
            "UK01",
            "GBP",
            "FIXED_FEE",
            contractValue="12000",
            budgetHours="100",
            milestones=[
                {"name": "Design", "amount": "6000", "dueDate": "2026-01-31"},
                {"name": "Delivery", "amount": "6000", "dueDate": "2026-03-31"},
            ],
        ),
    )
    eid = engagement["id"]
    design = next(m["id"] for m in engagement["milestones"] if m["name"] == "Design")
    days = [f"2026-01-{d:02d}" for d in (5, 6, 7, 8, 9)]
    await record_time(api, eid, "ben", [(day, "8", True) for day in days])
    # 40 of 100 budget hours: 40% of 12,000 = 4,800.00 recognized. Cost 40 h x 90 = 3,600.00.
    await position_when(api, eid, recognized="4800.00", cost="3600.00")
    await gql(api, MILESTONE, id=design, d="2026-01-31")
    invoice_id = await draft_for(api, eid, "2026-01-31")
    issued = (await gql(api, ISSUE, id=invoice_id, d="2026-02-02"))["issueInvoice"]
    # UK01 to a GB customer: 20% VAT on 6,000.00 = 1,200.00; total 7,200.00.
    assert issued["number"] == "UK01-2026-000001"
    assert [Decimal(issued[k]["amount"]) for k in ("subtotal", "tax", "total")] == [
        Decimal("6000.00"),
        Decimal("1200.00"),
        Decimal("7200.00"),
    ]
    await gql(api, PAY, id=invoice_id, a="7200.00", d="2026-02-10", r="bacs-1")
    # Billed 6,000 (excl. VAT) against 4,800 recognized: 1,200.00 deferred revenue.
    await position_when(
        api, eid, recognized="4800.00", billed="6000.00", unbilled="0.00", deferred="1200.00"
    )
    await gql(api, COMPLETE, id=eid, d="2026-03-31")
    # Completion recognizes the rest: exactly 12,000.00; billed 6,000 -> 6,000.00 unbilled;
    # margin 12,000 - 3,600 = 8,400.00.
    await position_when(
        api,
        eid,
        recognized="12000.00",
        billed="6000.00",
        unbilled="6000.00",
        deferred="0.00",
        margin="8400.00",
    )


async def test_milestone_engagement_bills_and_recognizes_at_completion(
    api: Platform,
) -> None:
    engagement = await close_won(
        api,
        **opportunity(
            "MS-1",
            "DE01",
            "EUR",
            "MILESTONE",
            contractValue="10000",
            milestones=[
                {"name": "Phase A", "amount": "4000", "dueDate": "2026-02-28"},
                {"name": "Phase B", "amount": "6000", "dueDate": "2026-04-30"},
            ],
        ),
    )
    eid = engagement["id"]
    phase = {m["name"]: m["id"] for m in engagement["milestones"]}
    await record_time(api, eid, "cem", [("2026-02-02", "6", True), ("2026-02-03", "4", True)])
    # Milestone billing: time earns nothing by itself; cost 10 h x 90 = 900.00.
    await position_when(api, eid, recognized="0.00", cost="900.00")
    await gql(api, MILESTONE, id=phase["Phase A"], d="2026-02-28")
    await position_when(api, eid, recognized="4000.00")
    invoice_id = await draft_for(api, eid, "2026-02-28")
    issued = (await gql(api, ISSUE, id=invoice_id, d="2026-03-02"))["issueInvoice"]
    # DE01 to a French customer: reverse charge, 0% VAT, with the note.
    assert issued["number"] == "DE01-2026-000001"
    assert [Decimal(issued[k]["amount"]) for k in ("subtotal", "tax", "total")] == [
        Decimal("4000.00"),
        Decimal("0.00"),
        Decimal("4000.00"),
    ]
    assert "reverse charge" in issued["taxNote"].lower()
    await gql(api, PAY, id=invoice_id, a="4000.00", d="2026-03-15", r="sepa-1")
    await gql(api, MILESTONE, id=phase["Phase B"], d="2026-04-30")
    await gql(api, COMPLETE, id=eid, d="2026-04-30")
    # 4,000 + 6,000 = 10,000.00 recognized; 4,000 billed -> 6,000.00 unbilled; margin 9,100.00.
    await position_when(
        api,
        eid,
        recognized="10000.00",
        billed="4000.00",
        unbilled="6000.00",
        deferred="0.00",
        margin="9100.00",
    )
