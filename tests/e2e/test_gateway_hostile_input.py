"""#14 observations 1-3 over real HTTP: numbers that hang or crash, client mistakes that were
server errors, and requests that cost far more than anyone should be served.

Each hostile request runs while a thread probes /healthz (every answer within 100 ms), is
refused with its code, and leaves nothing written.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.hostile import HealthProbe, healthz_url
from tests.e2e.platform import Platform, gql, post
from tests.e2e.test_gateway_flows import (
    ISSUE,
    PAY,
    close_won,
    draft_for,
    opportunity,
    record_time,
)

HOSTILE = ["1E+999999999", "NaN", "sNaN", "Infinity", "-Infinity", "1e400", "10.001"]
INVOICE = """query($id: ID!) { invoice(id: $id) { status amountPaid { amount } } }"""


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def fields(body: dict[str, Any]) -> set[str]:
    return {
        v["field"]
        for e in body.get("errors", [])
        for v in e.get("extensions", {}).get("fieldViolations", [])
    }


@pytest.fixture(scope="module")
async def issued(api: Platform) -> dict[str, str]:
    """An issued US01 invoice of 1,200.00 and its engagement."""
    engagement = await close_won(api, **opportunity("HOST-1", "US01", "USD", "TIME_AND_MATERIALS"))
    await record_time(api, engagement["id"], "hostile", [("2026-01-05", "8", True)])
    invoice_id = await draft_for(api, engagement["id"], "2026-01-31")
    await gql(api, ISSUE, id=invoice_id, d="2026-02-02")
    return {"engagement": engagement["id"], "invoice": invoice_id}


async def test_a_payment_of_an_unbounded_amount_is_refused_while_the_gateway_stays_up(
    api: Platform, issued: dict[str, str]
) -> None:
    probe = HealthProbe(healthz_url(api.url))
    finance = api.as_("finance", entities=["US01"])
    literal = (
        f'mutation {{ recordPayment(invoiceId: "{issued["invoice"]}", amount: "1E+999999999",'
        ' receivedOn: "2026-02-10", reference: "x") { status } }'
    )
    async with probe.running():
        # The first one hung the gateway for good (int() of a 10^999999999 Decimal).
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(
                    post(api, PAY, finance, id=issued["invoice"], a=amount, d="2026-02-10", r="x")
                    for amount in HOSTILE
                ),
                post(api, literal, finance),
            ),
            timeout=30,
        )
    probe.assert_healthy()
    for body in answers:
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert fields(body) & {"a", "amount"}, body
    invoice = (await gql(api, INVOICE, id=issued["invoice"]))["invoice"]
    assert (invoice["status"], Decimal(invoice["amountPaid"]["amount"])) == ("ISSUED", Decimal(0))


CLOSE_WON = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) { engagement { id } } }"""
BY_OPPORTUNITY = """query($o: String!) {
  engagementByOpportunity(source: "salesforce", opportunityId: $o) { id } }"""


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"contractValue": "1E+999999999"}, "input.contractValue"),
        ({"budgetHours": "NaN"}, "input.budgetHours"),
        ({"expenseMarkupPercent": "Infinity"}, "input.expenseMarkupPercent"),
        (
            {"rateCard": [{"role": "dev", "billRate": "1e400", "costRate": "1"}]},
            "input.rateCard[0].billRate",
        ),
        (
            {"rateCard": [{"role": "dev", "billRate": "100", "costRate": "1000000000"}]},
            "input.rateCard[0].costRate",
        ),
        (
            {
                "billingModel": "MILESTONE",
                "contractValue": "10",
                "milestones": [{"name": "m", "amount": "sNaN", "dueDate": "2026-06-30"}],
            },
            "input.milestones[0].amount",
        ),
        ({"contractValue": "10.001"}, "input.contractValue"),
    ],
)
async def test_close_won_refuses_every_unbounded_number_naming_it(
    api: Platform, terms: dict[str, Any], field: str
) -> None:
    ref = f"HOST-CW-{abs(hash(field + json.dumps(terms))) % 10**8}"
    probe = HealthProbe(healthz_url(api.url))
    async with probe.running():
        body = await asyncio.wait_for(
            post(
                api,
                CLOSE_WON,
                input=opportunity(
                    ref,
                    "US01",
                    "USD",
                    "FIXED_FEE",
                    **{"contractValue": "1000", "budgetHours": "10", **terms},
                ),
            ),
            timeout=30,
        )
    probe.assert_healthy()
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert field in fields(body), body
    assert (await gql(api, BY_OPPORTUNITY, o=ref))["engagementByOpportunity"] is None


EXPENSE = """mutation($x: ExpenseInput!) { submitExpense(input: $x) { id } }"""
SUBMIT = """mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id } }"""
ACTIVITY = """query($id: ID!) { engagement(id: $id) {
  expenses(first: 10) { edges { node { id } } }
  timeEntries(first: 10) { edges { node { hours } } } } }"""


async def test_expenses_and_hours_refuse_unbounded_numbers(
    api: Platform, issued: dict[str, str]
) -> None:
    eid = issued["engagement"]
    before = (await gql(api, ACTIVITY, id=eid))["engagement"]
    expense = {"engagementId": eid, "personId": "hostile", "date": "2026-01-06", "category": "x"}
    entry = {"engagementId": eid, "personId": "hostile", "role": "consultant", "date": "2026-01-06"}
    probe = HealthProbe(healthz_url(api.url))
    async with probe.running():
        spent = await asyncio.gather(
            *(post(api, EXPENSE, x={**expense, "amount": a}) for a in HOSTILE)
        )
        hours = await asyncio.gather(
            *(
                post(api, SUBMIT, e=[{**entry, "hours": "1"}, {**entry, "hours": h}])
                for h in [*HOSTILE[:-1], "25.0000001"]
            )
        )
    probe.assert_healthy()
    for body in spent:
        assert codes(body) == ["BAD_USER_INPUT"] and fields(body) & {"x.amount", "input.amount"}
    for body in hours:
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert "e[1].hours" in fields(body), body
    assert (await gql(api, ACTIVITY, id=eid))["engagement"] == before
