"""Acceptance of the audit trail (issue #18, DESIGN.md §9) over the five services, real gRPC,
PostgreSQL and JetStream: a close-won by a sales user, time approved by a delivery lead, an
invoice issued and voided by finance; `auditLog` and the engagement's timeline name each
actor, the audit log is for finance and admin only and scoped by entity, and no service's
own connection can change or remove a row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.conftest import Stack
from tests.e2e.platform import Platform, post, running_platform
from tests.support import eventually

# The lead's sub has a space and an accent: it must arrive whole through metadata and events.
SALES, LEAD, FINANCE = "sam@sales.example", "Dée Lead", "fin@finance.example"
CLOSE_WON = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) { engagement { id status } } }"""
PERSON = """mutation($p: PersonInput!) { upsertPerson(input: $p) { id } }"""
SUBMIT = """mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id } }"""
APPROVE = """mutation($ids: [ID!]!) { approveTime(ids: $ids) { id status } }"""
REJECT_TIME = """mutation($ids: [ID!]!) { rejectTime(ids: $ids, reason: "typo") { id } }"""
EXPENSE = """mutation($x: ExpenseInput!) { submitExpense(input: $x) { id } }"""
REJECT_EXPENSES = (
    """mutation($ids: [ID!]!) { rejectExpenses(ids: $ids, reason: "no receipt") { id } }"""
)
RUN = """mutation($c: Date!, $e: ID) { runBilling(cutoff: $c, engagementId: $e) { id } }"""
ISSUE = """mutation($id: ID!) { issueInvoice(id: $id, issueDate: "2026-02-02") { number } }"""
VOID = """mutation($id: ID!) { voidInvoice(id: $id, reason: "wrong PO") { status } }"""
AUDIT = """query($first: Int, $after: String, $e: ID, $actor: String, $from: DateTime,
                $to: DateTime) {
  auditLog(first: $first, after: $after, engagementId: $e, actor: $actor, from: $from, to: $to) {
    edges { cursor node {
      id time service actor onBehalfOf operation target engagementId requestId } }
    pageInfo { hasNextPage endCursor }
  } }"""
TIMELINE = """query($id: ID!) { engagement(id: $id) { timeline { type actor onBehalfOf } } }"""


@pytest.fixture(scope="module")
async def api(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    async with running_platform(
        stack.database_url, module_nats, tmp_path_factory.mktemp("audit"), connect=True
    ) as platform:
        yield platform


async def as_(
    api: Platform, who: str, roles: tuple[str, ...], query: str, **variables: Any
) -> dict[str, Any]:
    body = await post(api, query, api.as_(*roles, subject=who), **variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def audit_log(
    api: Platform, headers: dict[str, str], **variables: Any
) -> list[dict[str, Any]]:
    """Every entry the caller may see, walked two at a time through the cursors."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        body = await post(api, AUDIT, headers, first=2, after=after, **variables)
        assert "errors" not in body, body["errors"]
        page = body["data"]["auditLog"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


@pytest.fixture(scope="module")
async def deal(api: Platform) -> dict[str, str]:
    """The story: sales closes, delivery approves, finance issues and voids."""
    won = await as_(
        api,
        SALES,
        ("sales",),
        CLOSE_WON,
        input={
            "source": "salesforce",
            "opportunityId": "AUDIT-1",
            "account": {"externalId": "acc-audit-1", "name": "Audited Ltd", "country": "GB"},
            "name": "Audited rollout",
            "legalEntity": "UK01",
            "currency": "GBP",
            "billingModel": "TIME_AND_MATERIALS",
            "startDate": "2026-01-01",
            "endDate": "2026-12-31",
            "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
        },
    )
    eid = won["closeWonOpportunity"]["engagement"]["id"]
    await as_(
        api, LEAD, ("delivery",), PERSON, p={"id": "p-aud", "name": "Pat", "homeEntity": "UK01"}
    )
    entry = {"engagementId": eid, "personId": "p-aud", "role": "consultant", "hours": "8"}
    submitted = await as_(api, LEAD, ("delivery",), SUBMIT, e=[{**entry, "date": "2026-01-05"}])
    ids = [t["id"] for t in submitted["submitTime"]]
    await as_(api, LEAD, ("delivery",), APPROVE, ids=ids)

    async def drafted() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (
            await as_(api, FINANCE, ("finance",), RUN, c="2026-01-31", e=eid)
        )["runBilling"]
        return found

    [draft] = await eventually(drafted, what="billing to draft the approved time")
    issue = await post(
        api,
        ISSUE,
        {**api.as_("finance", subject=FINANCE), "X-Request-Id": "req-issue-1"},
        id=draft["id"],
    )
    assert "errors" not in issue, issue
    await as_(api, FINANCE, ("finance",), VOID, id=draft["id"])
    return {"engagement": eid, "invoice": draft["id"], "time": ids[0]}


def steps(entries: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    return {
        (e["operation"].rpartition("/")[2] or e["operation"], e["actor"], e["onBehalfOf"])
        for e in entries
    }


async def test_the_audit_log_names_each_actor_of_each_step(
    api: Platform, deal: dict[str, str]
) -> None:
    eid = deal["engagement"]
    admin = api.as_("admin", subject="root")

    def complete(found: list[dict[str, Any]]) -> bool:  # the void is the story's last event
        applied = {e["service"] for e in found if e["operation"].endswith("invoice.voided.v1")}
        return applied >= {"revenue", "connect"}

    found = await eventually(
        lambda: audit_log(api, admin, e=eid),
        until=complete,
        what="revenue and connect to apply the void",
    )
    assert {
        ("CreateEngagementFromOpportunity", SALES, None),
        ("SubmitTime", LEAD, None),
        ("ApproveTime", LEAD, None),
        ("RunBilling", FINANCE, None),
        ("IssueInvoice", FINANCE, None),
        ("VoidInvoice", FINANCE, None),
    } <= steps(found)
    # Event-driven effects are the consuming service's, on behalf of whoever caused them.
    applied = {(e["service"], e["operation"], e["onBehalfOf"]) for e in found if e["onBehalfOf"]}
    assert ("billing", "weftwork.project.time_entry.approved.v1", LEAD) in applied
    assert ("revenue", "weftwork.billing.invoice.issued.v1", FINANCE) in applied
    assert all(e["actor"] == f"service:{e['service']}" for e in found if e["onBehalfOf"])
    assert all(e["engagementId"] == eid for e in found)
    # One request id follows the issue from the gateway into billing and on to revenue.
    issued = [e for e in found if e["requestId"] == "req-issue-1"]
    assert {e["service"] for e in issued} >= {"billing", "revenue"}

    # Oldest first, each entry once, whichever page size walks it (read until no consumer is
    # still adding entries between the two reads).
    async def both_ways() -> tuple[list[str], list[str]]:
        walked = [e["id"] for e in await audit_log(api, admin, e=eid)]
        one_page = await post(api, AUDIT, admin, first=100, e=eid)
        return walked, [e["node"]["id"] for e in one_page["data"]["auditLog"]["edges"]]

    walked, _ = await eventually(both_ways, until=lambda ways: ways[0] == ways[1])
    assert len(set(walked)) == len(walked) >= len(found)
    # from (inclusive) and to (exclusive) cut the list at the issue.
    issue = next(e for e in found if e["operation"].endswith("/IssueInvoice"))
    later = await audit_log(api, admin, e=eid, **{"from": issue["time"]})
    earlier = await audit_log(api, admin, e=eid, to=issue["time"])
    assert issue in later and issue not in earlier and earlier
    assert max(e["time"] for e in earlier) < issue["time"] <= min(e["time"] for e in later)


async def test_mutations_that_emit_no_event_are_audited(
    api: Platform, deal: dict[str, str]
) -> None:
    """Those nothing downstream hears of: people, submissions, rejections, billing drafts."""
    eid, lead = deal["engagement"], ("delivery",)
    time = {"engagementId": eid, "personId": "p-aud", "role": "consultant", "hours": "1"}
    rejected = await as_(api, LEAD, lead, SUBMIT, e=[{**time, "date": "2026-01-06"}])
    await as_(api, LEAD, lead, REJECT_TIME, ids=[t["id"] for t in rejected["submitTime"]])
    cost = {"engagementId": eid, "personId": "p-aud", "date": "2026-01-06", "amount": "12.50"}
    expense = await as_(api, LEAD, lead, EXPENSE, x={**cost, "category": "travel"})
    await as_(api, LEAD, lead, REJECT_EXPENSES, ids=[expense["submitExpense"]["id"]])
    mine = await audit_log(api, api.as_("admin"), actor=LEAD)
    assert {
        "UpsertPerson",
        "SubmitTime",
        "ApproveTime",
        "RejectTime",
        "SubmitExpense",
        "RejectExpenses",
    } <= {e["operation"].rpartition("/")[2] for e in mine}
    person = next(e for e in mine if e["operation"].endswith("/UpsertPerson"))
    assert person["target"] == "p-aud" and person["engagementId"] is None
    by_finance = await audit_log(api, api.as_("admin"), actor=FINANCE)
    assert any(e["operation"].endswith("/RunBilling") for e in by_finance)


async def test_the_timeline_names_who_did_each_step(api: Platform, deal: dict[str, str]) -> None:
    async def timeline() -> list[dict[str, Any]]:
        body = await post(api, TIMELINE, api.as_("admin"), id=deal["engagement"])
        events: list[dict[str, Any]] = body["data"]["engagement"]["timeline"]
        return events

    def complete(found: list[dict[str, Any]]) -> bool:
        return {"invoice.voided", "revenue.recognized"} <= {
            e["type"].split(".", 2)[2].rpartition(".")[0] for e in found
        }

    events = await eventually(timeline, until=complete, what="the void and the recognition")
    actors = {
        e["type"].split(".", 2)[2]: e["actor"]
        for e in events
        if e["actor"] in {SALES, LEAD, FINANCE}
    }
    assert actors["engagement.activated.v1"] == SALES
    assert actors["time_entry.approved.v1"] == LEAD
    assert actors["invoice.issued.v1"] == FINANCE
    assert actors["invoice.voided.v1"] == FINANCE
    # Steps a service took on its own account say for whom: revenue recognizing the approval.
    driven = {
        (e["type"], e["actor"], e["onBehalfOf"])
        for e in events
        if e["actor"] not in actors.values()
    }
    assert ("weftwork.revenue.revenue.recognized.v1", "service:revenue", LEAD) in driven


async def test_only_finance_and_admin_read_it_and_only_in_their_entities(
    api: Platform, deal: dict[str, str]
) -> None:
    for role in ("sales", "delivery", "executive"):
        body = await post(api, AUDIT, api.as_(role), first=5)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], role
    uk = await audit_log(api, api.as_("finance", entities=["UK01"]), actor=FINANCE)
    assert uk and all(e["engagementId"] == deal["engagement"] for e in uk)
    assert await audit_log(api, api.as_("finance", entities=["US01"]), actor=FINANCE) == []
    assert await audit_log(api, api.as_("finance", entities=["US01"]), e=deal["engagement"]) == []
    # Entries about no engagement (a customer, a person) need every entity.
    assert all(
        e["engagementId"] for e in await audit_log(api, api.as_("finance", entities=["UK01"]))
    )
    bad = await post(api, AUDIT, api.as_("finance"), after="not-a-cursor")
    assert [e["extensions"]["code"] for e in bad["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("service", ["customer", "project", "billing", "revenue", "connect"])
async def test_no_service_connection_can_update_or_delete_its_audit_rows(
    api: Platform, deal: dict[str, str], service: str
) -> None:
    conn = await asyncpg.connect(api.settings.database_url_for(service))
    try:
        before = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetch("SELECT * FROM audit_log ORDER BY seq") == before
    finally:
        await conn.close()


async def test_the_gateway_echoes_the_request_id_or_makes_one(api: Platform) -> None:
    query = {"query": "{ viewer { roles } }"}
    given = await api.client.post(api.url, json=query, headers={"X-Request-Id": "req-echo-1"})
    assert given.headers["x-request-id"] == "req-echo-1"
    made = await api.client.post(api.url, json=query)
    unfit = await api.client.post(api.url, json=query, headers={"X-Request-Id": "x" * 300})
    for response in (made, unfit):
        assert len(response.headers["x-request-id"]) == 32  # a fresh uuid4, hex
    assert made.headers["x-request-id"] != unfit.headers["x-request-id"]
