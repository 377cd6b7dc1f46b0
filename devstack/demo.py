"""`weftwork demo`: a realistic firm seeded through the public GraphQL API only.

Three legal entities, 25 accounts arriving from two CRMs (eight of them twice, under other
ids and spellings, resolving to one customer), 40 engagements across the three billing
models and currencies, 30 people, three months (Aug-Oct 2026) of time and expenses,
billing runs, issued, paid, partly paid and voided invoices, and one closed period.
Every step is idempotent (natural keys, external ids, payment references), so a second run
adds nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from typing import Any

import httpx

from devstack import demo_data as data

SEED = 2026


class DemoError(RuntimeError):
    """The gateway refused a demo step."""


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {token}"})

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(self.url, json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            first = body["errors"][0]
            operation = " ".join(query.split())[:80]
            raise DemoError(f"{operation}: {first.get('message')} ({first.get('extensions')})")
        result: dict[str, Any] = body["data"]
        return result

    async def settled(self, within: float = 120) -> None:
        """Wait until every event has reached every consumer (billing and revenue caught up)."""
        deadline = time.monotonic() + within
        while not (await self("{ integrationStatus { settled } }"))["integrationStatus"]["settled"]:
            if time.monotonic() > deadline:
                raise DemoError("events did not settle; see integrationStatus")
            await asyncio.sleep(0.2)


async def seed(url: str, token: str) -> dict[str, int]:
    api = Api(url, token)
    rng = random.Random(SEED)
    try:
        for person in data.PEOPLE:
            await api(data.UPSERT_PERSON, p=person)
        engagements = [await _close_won(api, spec) for spec in data.opportunities()]
        # Billing decisions are not replayable by key; a seeded firm keeps its books as they are.
        billed_before = len(await _invoices(api, "VOID")) >= 2
        entries = 0
        for month in data.MONTHS:
            for engagement in engagements:
                entries += await _month_of_time(api, rng, engagement, month)
            await api.settled()
            if month == 10:
                await _milestones(api, engagements)
                if not billed_before:
                    await api.settled()
                    await _void_two_and_rebill(api)
            if not billed_before:
                await api.settled()
                await _bill_month(api, month)
        await api.settled()
        await api(data.CLOSE_PERIOD, e="US01", p="2026-08")
        return {
            "engagements": len(engagements),
            "people": len(data.PEOPLE),
            "time entries": entries,
        }
    finally:
        await api.client.aclose()


async def _close_won(api: Api, spec: dict[str, Any]) -> dict[str, Any]:
    won: dict[str, Any] = (await api(data.CLOSE_WON, input=spec))["closeWonOpportunity"][
        "engagement"
    ]
    return won


def _chance(key: str) -> float:
    """The same number for the same entry in every run: seeding twice must send the same
    content (a resubmitted externalId with other content is a conflict once approved)."""
    return random.Random(key).random()


async def _month_of_time(
    api: Api, rng: random.Random, engagement: dict[str, Any], month: int
) -> int:
    """Weekdays of the month, two people at four hours; some rejected; October's last week open."""
    team = data.team_of(engagement)
    days = [d for d in data.weekdays(month)]
    entries = [
        {
            "engagementId": engagement["id"],
            "personId": person,
            "role": role,
            "date": day.isoformat(),
            "hours": "4",
            "billable": _chance(external_id) > 0.1,
            "description": f"{engagement['name']}: {role} work",
            "externalId": external_id,
        }
        for day in days
        for person, role in team
        for external_id in [f"demo-{engagement['code']}-{person}-{day.isoformat()}"]
    ]
    submitted = (await api(data.SUBMIT, e=entries))["submitTime"]
    open_after = dt.date(2026, 10, 26)
    decided = [t for t in submitted if dt.date.fromisoformat(t["date"]) < open_after]
    reject = [t["id"] for t in decided if t["status"] == "SUBMITTED" and rng.random() < 0.03]
    approve = [t["id"] for t in decided if t["status"] == "SUBMITTED" and t["id"] not in reject]
    if reject:
        await api(data.REJECT, ids=reject, reason="Wrong engagement; please rebook")
    if approve:
        await api(data.APPROVE, ids=approve)
    expenses = [await api(data.SUBMIT_EXPENSE, x=x) for x in data.expenses_of(engagement, month)]
    pending = [
        x["submitExpense"]["id"] for x in expenses if x["submitExpense"]["status"] == "SUBMITTED"
    ]
    if pending:
        await api(data.APPROVE_EXPENSES, ids=pending)
    return len(entries)


async def _bill_month(api: Api, month: int) -> None:
    """Bill the month; issue August and September; pay August (three only in part)."""
    cutoff = data.month_end(month)
    drafts = (await api(data.RUN_BILLING, c=cutoff.isoformat()))["runBilling"]
    if month == 10:
        return  # October stays in draft: the controller has not issued it yet
    issue_on = cutoff + dt.timedelta(days=1)
    for invoice in sorted(drafts, key=lambda i: i["id"]):
        await api(data.ISSUE, id=invoice["id"], d=issue_on.isoformat())
    if month != 8:
        return
    issued = await _invoices(api, "ISSUED")
    for index, invoice in enumerate(sorted(issued, key=lambda i: i["number"])):
        total = invoice["total"]["amount"]
        partly = index % 7 == 3
        amount = f"{float(total) / 2:.2f}" if partly else total
        reference = f"demo-{'part' if partly else 'pay'}-{invoice['number']}"
        await api(data.PAY, id=invoice["id"], a=amount, d="2026-09-20", r=reference)


async def _invoices(api: Api, status: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api(data.INVOICES, s=status, after=after))["invoices"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def _milestones(api: Api, engagements: list[dict[str, Any]]) -> None:
    """Each engagement's first milestone completes on 30 September."""
    for engagement in engagements:
        for milestone in engagement["milestones"][:1]:
            await api(data.COMPLETE_MILESTONE, id=milestone["id"], d="2026-09-30")


async def _void_two_and_rebill(api: Api) -> None:
    """Void the two earliest September invoices, then bill their items (and the milestones
    completed on 30 September) again, before October is billed."""
    september = [i for i in await _invoices(api, "ISSUED") if i["issueDate"] == "2026-10-01"]
    for invoice in sorted(september, key=lambda i: i["number"])[:2]:
        await api(data.VOID, id=invoice["id"], reason="Billed to the wrong purchase order")
    await api.settled()
    for invoice in (await api(data.RUN_BILLING, c="2026-09-30"))["runBilling"]:
        await api(data.ISSUE, id=invoice["id"], d="2026-10-05")


def main() -> None:
    """Entry point of `weftwork demo`: seeds the gateway the local settings describe."""
    from mesh.settings import load_settings
    from mesh.tokens import issue_token, local_secret

    settings = load_settings()
    secret = settings.jwt_secret or local_secret(settings.data_dir)
    token = issue_token(secret, subject="demo", roles=["admin"], entities=["*"])
    url = f"http://{settings.host}:{settings.gateway_port}/graphql"
    counts = asyncio.run(seed(url, token))
    print("demo firm ready: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    from devstack import demo_connect

    print("\n".join(asyncio.run(demo_connect.seed(url, token))))
