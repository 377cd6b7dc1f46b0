"""Acceptance (issue #18, DESIGN.md §9) through the gateway with customer, project, billing and
revenue on real gRPC, PostgreSQL and JetStream: FR01 exists only in WEFTWORK_LEGAL_ENTITIES,
and an FR01 engagement is created, billed with French VAT, recognized, closed and exported as
a balanced journal with FR01's ERP account codes (GraphQL and CSV)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import grpc
import httpx
import pytest

from gateway.app import create_app
from mesh.grpc.convert import date_to_proto, money_from_proto
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES, LegalEntitySetting
from mesh.settings import Settings
from mesh.tokens import issue_token
from services.billing.main import SPEC as BILLING
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from services.revenue.main import SPEC as REVENUE
from tests.conftest import Stack
from tests.support import (
    as_nats_user,
    eventually,
    legal_entities_json,
    serving,
    settings_for,
    with_grpc_ports,
)
from weftwork.revenue.v1 import revenue_service_pb2 as revenue_pb
from weftwork.revenue.v1 import revenue_service_pb2_grpc as revenue_grpc

SECRET = "handoff-secret-handoff-secret-handoff-se"
FR01 = LegalEntitySetting(
    code="FR01",
    name="Weftwork Conseil SAS",
    country="FR",
    address=("12 rue de la Paix", "75002 Paris", "France"),
    vat_id="FR12345678901",
    currencies=("EUR",),
    vat_percent=Decimal(20),
    reverse_charge=True,
    accounts={"revenue": "706000", "receivables": "411000", "tax_payable": "445710"},
)
CLOSE_WON = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) { engagement { id code legalEntity currency status } }
}"""
PERSON = """mutation($p: PersonInput!) { upsertPerson(input: $p) { id homeEntity } }"""
SUBMIT = """mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id status } }"""
APPROVE_TIME = """mutation($ids: [ID!]!) { approveTime(ids: $ids) { id billAmount { amount } } }"""
RUN = """mutation($c: Date!, $e: ID) { runBilling(cutoff: $c, engagementId: $e) { id } }"""
ISSUE = """mutation($id: ID!, $d: Date!) {
  issueInvoice(id: $id, issueDate: $d) { number subtotal { amount } tax { amount currency } }
}"""
RECOGNIZED = """query($id: ID!) { engagement(id: $id) { revenue { recognized { amount } } } }"""
CLOSE = """mutation { closePeriod(legalEntity: "FR01", period: "2025-03") { status } }"""
ENTITIES = """{ legalEntities { code name country currencies vatPercent reverseCharge } }"""
EXPORT = """query($e: String!, $p: String!) {
  journalExport(legalEntity: $e, period: $p) {
    legalEntity period provisional postingDate
    lines {
      journalId currency accountCode account accountName engagementId engagementCode
      debit { amount currency } credit { amount currency }
    }
  }
}"""


def bearer(*roles: str, entities: tuple[str, ...] = ("*",)) -> dict[str, str]:
    token = issue_token(SECRET, subject="e2e", roles=list(roles), entities=list(entities))
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Handoff:
    client: httpx.AsyncClient  # the gateway, in-process
    settings: Settings  # where the services listen


@pytest.fixture(scope="module")
async def handoff(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Handoff]:
    settings, _ = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("handoff"),
        WEFTWORK_JWT_SECRET=SECRET,
        WEFTWORK_LEGAL_ENTITIES=legal_entities_json(FR01),
    )
    async with contextlib.AsyncExitStack() as services:
        for spec in (CUSTOMER, PROJECT, BILLING, REVENUE):
            port, _ = await services.enter_async_context(serving(spec, settings))
            settings = with_grpc_ports(settings, **{spec.name: port})
        app = create_app(as_nats_user(settings, "gateway"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", timeout=30
        ) as client:
            yield Handoff(client, settings)
        await app.state.clients.close()


async def run(
    client: httpx.AsyncClient,
    query: str,
    roles: tuple[str, ...] = ("admin",),
    entities: tuple[str, ...] = ("*",),
    **variables: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=bearer(*roles, entities=entities),
    )
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_a_configured_entity_is_listed_for_any_signed_in_caller(handoff: Handoff) -> None:
    listed = await run(handoff.client, ENTITIES, ("delivery",))
    found = {e["code"]: e for e in listed["data"]["legalEntities"]}
    assert set(found) == {*DEFAULT_LEGAL_ENTITIES, "FR01"}
    assert found["FR01"] == {
        "code": "FR01", "name": "Weftwork Conseil SAS", "country": "FR", "currencies": ["EUR"],
        "vatPercent": "20", "reverseCharge": True,
    }  # fmt: skip
    anonymous = await handoff.client.post("/graphql", json={"query": ENTITIES})
    assert codes(anonymous.json()) == ["UNAUTHENTICATED"]


async def test_fr01_by_configuration_alone_is_engaged_billed_with_fr_vat_recognized_and_exported(
    handoff: Handoff,
) -> None:
    gql = handoff.client
    deal = {
        "source": "hubspot", "opportunityId": "FR-1",
        "account": {"externalId": "acc-fr-1", "name": "Parisienne SA", "country": "FR"},
        "name": "Paris rollout", "legalEntity": "FR01", "currency": "EUR",
        "billingModel": "TIME_AND_MATERIALS",
        "startDate": "2025-03-03", "endDate": "2025-06-30",
        "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
    }  # fmt: skip
    won = await run(gql, CLOSE_WON, ("sales",), input=deal)
    assert "errors" not in won, won
    engagement = won["data"]["closeWonOpportunity"]["engagement"]
    assert (engagement["legalEntity"], engagement["currency"]) == ("FR01", "EUR")
    assert engagement["status"] == "ACTIVE"
    # FR01 contracts in EUR only (its configured currencies).
    usd = await run(gql, CLOSE_WON, ("sales",), input={**deal, "opportunityId": "FR-2",
                                                       "currency": "USD"})  # fmt: skip
    assert codes(usd) == ["BAD_USER_INPUT"]
    person = await run(gql, PERSON, p={"id": "p-fr", "name": "Fanny", "homeEntity": "FR01"})
    assert person["data"]["upsertPerson"]["homeEntity"] == "FR01"
    entry = {
        "engagementId": engagement["id"], "personId": "p-fr", "role": "consultant",
        "date": "2025-03-04", "hours": "8",
    }  # fmt: skip
    [submitted] = (await run(gql, SUBMIT, ("delivery",), e=[entry]))["data"]["submitTime"]
    [rated] = (await run(gql, APPROVE_TIME, ("delivery",), ids=[submitted["id"]]))["data"][
        "approveTime"
    ]
    assert rated["billAmount"]["amount"] == "1200.00"  # 8 h x 150.00

    async def drafts() -> list[dict[str, Any]]:
        found = await run(gql, RUN, ("finance",), c="2025-03-31", e=engagement["id"])
        return list(found["data"]["runBilling"])

    [draft] = await eventually(drafts, what="the 8 h to be billable")
    issued = (await run(gql, ISSUE, ("finance",), id=draft["id"], d="2025-03-31"))["data"][
        "issueInvoice"
    ]
    assert issued["number"].startswith("FR01-")
    assert issued["subtotal"]["amount"] == "1200.00"
    assert issued["tax"] == {"amount": "240.00", "currency": "EUR"}  # French VAT, 20 %

    def recognized(body: dict[str, Any]) -> bool:
        revenue = body["data"]["engagement"]["revenue"]
        return revenue is not None and revenue["recognized"]["amount"] == "1200.00"

    await eventually(lambda: run(gql, RECOGNIZED, id=engagement["id"]), until=recognized,
                     within=30, what="revenue to recognize the 8 h")  # fmt: skip

    # Open: the export is provisional. Once the invoice is in the journal, close and export.
    async def provisional() -> dict[str, Any]:
        body = await run(gql, EXPORT, ("finance",), e="FR01", p="2025-03")
        found: dict[str, Any] = body["data"]["journalExport"]
        return found

    open_export = await eventually(
        provisional, until=lambda x: any(ln["account"] == "tax_payable" for ln in x["lines"]),
        within=30, what="the invoice's entry in the journal",
    )  # fmt: skip
    assert open_export["provisional"] is True
    assert (await run(gql, CLOSE, ("finance",)))["data"]["closePeriod"]["status"] == "CLOSED"
    final = (await run(gql, EXPORT, ("finance",), e="FR01", p="2025-03"))["data"]["journalExport"]
    assert final["provisional"] is False
    assert final["postingDate"] == "2025-03-31"
    lines = {(ln["account"], ln["accountCode"]): ln for ln in final["lines"]}
    # Recognition Dr unbilled 1,200 / Cr revenue 1,200; invoice Dr AR 1,440 / Cr unbilled
    # 1,200, Cr VAT 240: net AR 1,440 Dr, revenue 1,200 Cr, VAT 240 Cr, unbilled nets to 0.
    assert set(lines) == {
        ("receivables", "411000"), ("revenue", "706000"), ("tax_payable", "445710")
    }  # fmt: skip
    assert lines["receivables", "411000"]["debit"] == {"amount": "1440.00", "currency": "EUR"}
    assert lines["revenue", "706000"]["credit"]["amount"] == "1200.00"
    assert lines["tax_payable", "445710"]["credit"]["amount"] == "240.00"
    for line in final["lines"]:
        assert line["journalId"] == "FR01-202503-EUR"
        assert line["engagementCode"] == engagement["code"]
    net = sum(
        Decimal(x["debit"]["amount"]) - Decimal(x["credit"]["amount"]) for x in lines.values()
    )
    assert net == 0

    # The same as revenue's trial balance of FR01 (its only postings are in March).
    async with grpc.aio.insecure_channel(handoff.settings.grpc_target("revenue")) as channel:
        balance = await revenue_grpc.RevenueServiceStub(channel).GetTrialBalance(
            revenue_pb.GetTrialBalanceRequest(
                legal_entity="FR01", as_of=date_to_proto(dt.date(2025, 3, 31))
            )
        )
    [eur] = balance.currencies
    by_name: dict[str, Decimal] = defaultdict(Decimal)
    for tb in eur.lines:
        by_name[tb.account_name] += money_from_proto(tb.balance).amount
    exported = {
        x["accountName"]: Decimal(x["debit"]["amount"]) - Decimal(x["credit"]["amount"])
        for x in final["lines"]
    }
    assert exported == {k: v for k, v in by_name.items() if v}

    # The CSV: the same lines, FINAL, with the same token rules.
    token = bearer("finance")
    response = await gql.get("/exports/journal/FR01/2025-03.csv", headers=token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-weftwork-provisional"] == "false"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {(r["account"], r["account_code"], r["debit"], r["credit"]) for r in rows} == {
        ("receivables", "411000", "1440.00", "0.00"),
        ("revenue", "706000", "0.00", "1200.00"),
        ("tax_payable", "445710", "0.00", "240.00"),
    }
    assert {(r["status"], r["journal_id"], r["posting_date"], r["currency"]) for r in rows} == {
        ("FINAL", "FR01-202503-EUR", "2025-03-31", "EUR")
    }


@pytest.mark.parametrize(
    ("path", "roles", "entities", "status", "code"),
    [
        ("/exports/journal/FR01/2025-03.csv", None, ("*",), 401, "UNAUTHENTICATED"),
        ("/exports/journal/FR01/2025-03.csv", ("delivery",), ("*",), 403, "FORBIDDEN"),
        ("/exports/journal/FR01/2025-03.csv", ("finance",), ("DE01",), 403, "FORBIDDEN"),
        ("/exports/journal/XX99/2025-03.csv", ("finance",), ("*",), 400, "BAD_USER_INPUT"),
        ("/exports/journal/FR01/2025-13.csv", ("finance",), ("*",), 400, "BAD_USER_INPUT"),
        ("/exports/journal/FR01/march.csv", ("admin",), ("*",), 400, "BAD_USER_INPUT"),
    ],
)
async def test_the_csv_refuses_like_graphql(
    handoff: Handoff,
    path: str,
    roles: tuple[str, ...] | None,
    entities: tuple[str, ...],
    status: int,
    code: str,
) -> None:
    headers = bearer(*roles, entities=entities) if roles else {}
    response = await handoff.client.get(path, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code
    if roles:  # GraphQL with the same caller and arguments answers with the same code
        _, entity, period = path.removesuffix(".csv").rsplit("/", 2)
        body = await run(handoff.client, EXPORT, roles, entities, e=entity, p=period)
        assert codes(body) == [code]


async def test_an_open_period_is_provisional_in_the_csv_too(handoff: Handoff) -> None:
    response = await handoff.client.get(
        "/exports/journal/UK01/2031-01.csv", headers=bearer("admin")
    )
    assert response.status_code == 200
    assert response.headers["x-weftwork-provisional"] == "true"
    assert response.text.splitlines() == [",".join(
        ["journal_id", "status", "legal_entity", "period", "posting_date", "currency",
         "account_code", "account", "account_name", "engagement_code", "engagement_id",
         "debit", "credit", "memo"]
    )]  # fmt: skip
