"""`weftwork demo` seeds a realistic firm through GraphQL only, and a second run adds nothing."""

from __future__ import annotations

from typing import Any

from devstack.demo import seed
from tests.e2e.platform import Platform, gql

COUNTS = """{
  customers(first: 100) { edges { node { id externalRefs { system } } } }
  engagements(first: 100) { edges { node { billingModel currency
    timeEntries(first: 1) { edges { cursor } } } } }
  issued: invoices(first: 100, status: ISSUED) { edges { node { id } } }
  paid: invoices(first: 100, status: PAID) { edges { node { id } } }
  partly: invoices(first: 100, status: PARTIALLY_PAID) { edges { node { id } } }
  void: invoices(first: 100, status: VOID) { edges { node { creditNoteNumber } } }
  drafts: invoices(first: 100, status: DRAFT) { edges { node { id } } }
  portfolio(asOf: "2026-10-31") { byCurrency { currency recognized { amount } } }
}"""


def shape(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "customers": len(data["customers"]["edges"]),
        "engagements": len(data["engagements"]["edges"]),
        **{k: len(data[k]["edges"]) for k in ("issued", "paid", "partly", "void", "drafts")},
        "portfolio": [
            (c["currency"], c["recognized"]["amount"]) for c in data["portfolio"]["byCurrency"]
        ],
    }


async def test_the_demo_firm_is_realistic_and_seeding_twice_adds_nothing(api: Platform) -> None:
    counts = await seed(api.url, api.token("admin"))
    assert counts["engagements"] == 40
    first = await gql(api, COUNTS)
    # 25 accounts; 13 of them were won again through the second CRM (8 spelt differently) and
    # resolved to the customer the first CRM created.
    assert shape(first)["customers"] == 25
    both = [
        c
        for c in first["customers"]["edges"]
        if len({r["system"] for r in c["node"]["externalRefs"]}) == 2
    ]
    assert len(both) == 13
    assert {e["node"]["billingModel"] for e in first["engagements"]["edges"]} == {
        "TIME_AND_MATERIALS",
        "FIXED_FEE",
        "MILESTONE",
    }
    assert {e["node"]["currency"] for e in first["engagements"]["edges"]} == {"USD", "GBP", "EUR"}
    s = shape(first)
    assert s["void"] == 2 and all(v["node"]["creditNoteNumber"] for v in first["void"]["edges"])
    assert s["paid"] > 0 and s["partly"] > 0 and s["issued"] > 0 and s["drafts"] > 0
    assert {c for c, _ in s["portfolio"]} == {"USD", "GBP", "EUR"}

    await seed(api.url, api.token("admin"))
    assert shape(await gql(api, COUNTS)) == s
