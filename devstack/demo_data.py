"""The demo firm's master data and the GraphQL documents the demo sends."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

MONTHS = (8, 9, 10)
ENTITY_OF = {"US": ("US01", "USD"), "GB": ("UK01", "GBP"), "IE": ("UK01", "GBP")}
EU = ("DE01", "EUR")

# name, country, domain, tax id
ACCOUNTS = [
    ("Acme Analytics Inc", "US", "acme-analytics.com", ""),
    ("Globex Corporation", "US", "globex.com", "US-41-1234567"),
    ("Initech LLC", "US", "initech.io", ""),
    ("Umbrella Health Inc", "US", "umbrella-health.com", ""),
    ("Stark Logistics Corp", "US", "starklogistics.com", ""),
    ("Wayne Retail Inc", "US", "wayneretail.com", ""),
    ("Hooli Inc", "US", "hooli.xyz", ""),
    ("Vandelay Industries LLC", "US", "vandelay.com", ""),
    ("Northwind Traders Ltd", "GB", "northwind.co.uk", "GB123456789"),
    ("Thames Water Analytics Ltd", "GB", "thameswa.co.uk", "GB987654321"),
    ("Britannia Insurance PLC", "GB", "britannia-ins.co.uk", ""),
    ("Cambridge Biotech Ltd", "GB", "cambridgebio.co.uk", ""),
    ("Liffey Software Ltd", "IE", "liffey.ie", "IE6388047V"),
    ("Edinburgh Capital Ltd", "GB", "edcap.co.uk", ""),
    ("Müller Maschinenbau GmbH", "DE", "mueller-maschinen.de", "DE811234567"),
    ("Berliner Mobilität AG", "DE", "berliner-mobil.de", "DE299999999"),
    ("Hamburg Hafen Logistik GmbH", "DE", "hh-logistik.de", ""),
    ("Bayern Energie AG", "DE", "bayern-energie.de", ""),
    ("Rhein Chemie GmbH", "DE", "rhein-chemie.de", ""),
    ("Lumière Retail SA", "FR", "lumiere-retail.fr", "FR40303265045"),
    ("Paris Finance SAS", "FR", "parisfinance.fr", ""),
    ("Amsterdam Data BV", "NL", "amsterdamdata.nl", "NL123456782B01"),
    ("Rotterdam Shipping BV", "NL", "rtmshipping.nl", ""),
    ("Milano Moda SpA", "IT", "milanomoda.it", ""),
    ("Madrid Telecom SA", "ES", "madridtelecom.es", ""),
]
# The same accounts again from the second CRM, spelt its way: each must resolve to one customer.
OVERLAPS = {
    0: {"name": "ACME Analytics", "domain": "https://www.acme-analytics.com/"},
    1: {"name": "Globex Corp.", "taxId": "us 41-1234567"},
    8: {"name": "Northwind Traders", "taxId": "gb 123 456 789"},
    9: {"name": "THAMES WATER ANALYTICS LIMITED"},
    14: {"name": "Mueller Maschinenbau", "taxId": "DE 811 234 567"},
    15: {"name": "Berliner Mobilitaet", "domain": "www.berliner-mobil.de"},
    19: {"name": "Lumiere Retail", "taxId": "FR 40 303 265 045"},
    21: {"name": "Amsterdam Data", "domain": "AMSTERDAMDATA.NL"},
}

FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas"]
LAST = ["Okafor", "Schmidt", "Murphy"]
PEOPLE = [
    {
        "id": f"emp-{i:03d}",
        "name": f"{FIRST[i % 10]} {LAST[i % 3]}",
        "homeEntity": ("US01", "UK01", "DE01")[i % 3],
    }
    for i in range(30)
]
ROLES = {"partner": ("320", "180"), "manager": ("210", "120"), "consultant": ("150", "85")}
MODELS = ("TIME_AND_MATERIALS", "TIME_AND_MATERIALS", "FIXED_FEE", "MILESTONE")
PROJECTS = ("Data Platform", "ERP Rollout", "Pricing Study", "Cloud Migration")


def opportunities() -> list[dict[str, Any]]:
    """40 won deals: the 25 accounts from the first CRM, then 15 more, 8 of them overlapping."""
    specs = []
    for i in range(40):
        index = i if i < 25 else (sorted(OVERLAPS) + list(range(2, 25, 3)))[i - 25]
        name, country, domain, tax_id = ACCOUNTS[index]
        second = i >= 25
        account = {
            "externalId": f"{'hs' if second else 'sf'}-{index:03d}",
            "name": name,
            "country": country,
            "domain": domain or None,
            "taxId": tax_id or None,
        }
        if second:
            account.update(OVERLAPS.get(index, {}))
        entity, currency = ENTITY_OF.get(country, EU)
        model = MODELS[i % 4]
        value = 60_000 + 5_000 * (i % 7)
        terms: dict[str, Any] = {}
        if model != "TIME_AND_MATERIALS":
            terms = {
                "contractValue": str(value),
                "milestones": [
                    {"name": "Discovery", "amount": str(value * 2 // 5), "dueDate": "2026-09-30"},
                    {
                        "name": "Delivery",
                        "amount": str(value - value * 2 // 5),
                        "dueDate": "2026-12-15",
                    },
                ],
            }
            if model == "FIXED_FEE":
                terms["budgetHours"] = "600"
        specs.append(
            {
                "source": "hubspot" if second else "salesforce",
                "opportunityId": f"OPP-{2026_000 + i}",
                "account": account,
                "name": f"{name.split()[0]} {PROJECTS[i % 4]}",
                "legalEntity": entity,
                "currency": currency,
                "billingModel": model,
                "startDate": "2026-08-01",
                "endDate": "2026-12-31",
                "rateCard": [
                    {"role": r, "billRate": b, "costRate": c} for r, (b, c) in ROLES.items()
                ],
                "paymentTermsDays": (30, 45, 14)[i % 3],
                "expenseMarkupPercent": "10" if i % 5 == 0 else None,
                **terms,
            }
        )
    return specs


def team_of(engagement: dict[str, Any]) -> list[tuple[str, str]]:
    """Two people per engagement, spread so nobody books more than 24 h a day."""
    n = int(engagement["code"].rsplit("-", 1)[1])
    return [(PEOPLE[(2 * n) % 30]["id"], "manager"), (PEOPLE[(2 * n + 1) % 30]["id"], "consultant")]


def weekdays(month: int) -> list[dt.date]:
    days = calendar.monthrange(2026, month)[1]
    return [d for d in (dt.date(2026, month, x) for x in range(1, days + 1)) if d.weekday() < 5]


def month_end(month: int) -> dt.date:
    return dt.date(2026, month, calendar.monthrange(2026, month)[1])


def expenses_of(engagement: dict[str, Any], month: int) -> list[dict[str, Any]]:
    person = team_of(engagement)[0][0]
    return [
        {
            "engagementId": engagement["id"],
            "personId": person,
            "date": f"2026-{month:02d}-15",
            "amount": amount,
            "category": category,
            "billable": category != "meals",
            "externalId": f"demo-x-{engagement['code']}-{month}-{category}",
        }
        for category, amount in (("travel", "420.00"), ("hotel", "310.50"), ("meals", "64.20"))
    ]


UPSERT_PERSON = "mutation($p: PersonInput!) { upsertPerson(input: $p) { id } }"
CLOSE_WON = """mutation($input: OpportunityWonInput!) { closeWonOpportunity(input: $input) {
  engagement { id code name milestones { id } } } }"""
SUBMIT = "mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id date status } }"
APPROVE = "mutation($ids: [ID!]!) { approveTime(ids: $ids) { id } }"
REJECT = (
    "mutation($ids: [ID!]!, $reason: String!) { rejectTime(ids: $ids, reason: $reason) { id } }"
)
SUBMIT_EXPENSE = "mutation($x: ExpenseInput!) { submitExpense(input: $x) { id status } }"
APPROVE_EXPENSES = "mutation($ids: [ID!]!) { approveExpenses(ids: $ids) { id } }"
COMPLETE_MILESTONE = (
    "mutation($id: ID!, $d: Date!) { completeMilestone(id: $id, completedOn: $d) { id } }"
)
RUN_BILLING = "mutation($c: Date!) { runBilling(cutoff: $c) { id } }"
ISSUE = "mutation($id: ID!, $d: Date!) { issueInvoice(id: $id, issueDate: $d) { id } }"
VOID = "mutation($id: ID!, $reason: String!) { voidInvoice(id: $id, reason: $reason) { id } }"
PAY = """mutation($id: ID!, $a: Decimal!, $d: Date!, $r: String!) {
  recordPayment(invoiceId: $id, amount: $a, receivedOn: $d, reference: $r) { id } }"""
INVOICES = """query($s: InvoiceStatus, $after: String) {
  invoices(first: 100, status: $s, after: $after) {
  edges { node { id number issueDate total { amount } } } pageInfo { hasNextPage endCursor } } }"""
CLOSE_PERIOD = (
    "mutation($e: String!, $p: String!) { closePeriod(legalEntity: $e, period: $p) { status } }"
)
