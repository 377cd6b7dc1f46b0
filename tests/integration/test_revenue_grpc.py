"""The revenue service over real gRPC, PostgreSQL and NATS JetStream: a T&M engagement's
events in, every read back out."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mesh.events.streams import ensure_stream
from mesh.grpc.client import open_channel
from mesh.grpc.convert import date_to_proto, money_from_proto
from mesh.money import Money
from services.revenue.domain.facts import BillingModel
from services.revenue.main import SPEC
from tests.conftest import Stack
from tests.support import eventually, publish_event, rpc_error, serving, settings_for
from tests.unit.revenue_fakes import Delivery, Engagement
from weftwork.revenue.v1 import events_pb2
from weftwork.revenue.v1 import revenue_service_pb2 as pb
from weftwork.revenue.v1 import revenue_service_pb2_grpc as pb_grpc

D = dt.date


@dataclass
class Running:
    stub: pb_grpc.RevenueServiceStub
    db: asyncpg.Pool
    js: JetStreamContext


@pytest.fixture(scope="module")
async def revenue(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    settings, _ = settings_for(stack.database_url, module_nats, tmp_path_factory.mktemp("r"))
    nc = await nats.connect(module_nats)
    js = nc.jetstream()
    await ensure_stream(js, "project")
    await ensure_stream(js, "billing")
    async with (
        serving(SPEC, settings) as (port, ctx),
        open_channel(f"127.0.0.1:{port}", deadline_seconds=5) as channel,
    ):
        yield Running(pb_grpc.RevenueServiceStub(channel), ctx.pool, js)
    await nc.close()


async def settled(r: Running) -> bool:
    """Both consumers exist and have nothing pending or unacknowledged."""
    for stream, durable in (("PROJECT", "revenue-project"), ("BILLING", "revenue-billing")):
        try:
            info = await r.js.consumer_info(stream, durable)
        except NotFoundError:
            return False
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def publish(r: Running, *events: tuple[str, Any]) -> None:
    """Publishes each event as its producer would, one at a time: the two streams are consumed
    independently, so waiting keeps the journal's order the order of the events."""
    for subject, message in events:
        step = Delivery(subject, message)
        project = subject.startswith("weftwork.project.")
        await publish_event(
            r.js,
            service="project" if project else "billing",
            subject=subject,
            aggregate_id=message.engagement_id if project else message.invoice_id,
            aggregate_version=message.version,
            message=message,
            event_id=step.event_id,
        )
        await eventually(lambda: settled(r), what=f"revenue to consume {subject}")


def amounts(message: Any, *fields: str) -> dict[str, Decimal]:
    return {f: money_from_proto(getattr(message, f)).amount for f in fields}


async def counts(db: asyncpg.Pool) -> tuple[int, ...]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM journal_entries), (SELECT count(*) FROM periods),"
        " (SELECT count(*) FROM ledgers), (SELECT count(*) FROM outbox),"
        " (SELECT count(*) FROM applied_facts)"
    )
    assert row is not None
    return tuple(row)


POSITION = ("recognized", "billed", "unbilled_receivable", "deferred_revenue", "cost", "margin")
PORTFOLIO = (*POSITION, "backlog")


async def test_a_time_and_materials_engagement_reads_back_through_every_query(
    revenue: Running,
) -> None:
    # The T&M example of tests/unit/test_revenue_worked_examples.py: US01, USD, no tax;
    # senior 200.00/h (cost 90.00), analyst 120.00/h (cost 55.00); estimate 20,000.00.
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", "US01", contract_value="20000.00")
    stub = revenue.stub
    inv_a, inv_b, inv_c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # January: 2,500.00 on 10 Jan, 4 h non-billable on 24 Jan; cost 1,352.50; invoice A.
    await publish(revenue,
        e.activated(),
        e.time(("s1", D(2025, 1, 10), "8", "200", "90", True),
               ("a1", D(2025, 1, 10), "7.5", "120", "55", True),
               ("a2", D(2025, 1, 24), "4", "120", "55", False)),
        e.issued(inv_a, D(2025, 1, 31), "2500.00"),
    )  # fmt: skip
    closed = await stub.ClosePeriod(pb.ClosePeriodRequest(legal_entity="US01", period="2025-01"))
    assert (closed.period.status, closed.period.version) == (pb.PERIOD_STATUS_CLOSED, 2)
    # February: A voided; 2 h dated 31 Jan approved late (400.00, posted 1 Feb); 6 h on
    # 14 Feb (1,200.00); invoice B 4,100.00. March: retainer C 1,000.00; B paid; 5 h
    # analyst on 15 Mar (600.00, from deferred).
    await publish(revenue,
        e.voided(inv_a, D(2025, 2, 3), "2500.00"),
        e.time(("s2", D(2025, 1, 31), "2", "200", "90", True)),
        e.time(("s3", D(2025, 2, 14), "6", "200", "90", True)),
        e.issued(inv_b, D(2025, 2, 28), "4100.00"),
        e.issued(inv_c, D(2025, 3, 1), "1000.00"),
        e.paid(inv_b, "pay-b", D(2025, 3, 10), "4100.00"),
        e.time(("a3", D(2025, 3, 15), "5", "120", "55", True)),
    )  # fmt: skip

    position = (await stub.GetPosition(pb.GetPositionRequest(engagement_id=str(e.id)))).position
    # Recognized 2,500 + 400 + 1,200 + 600 = 4,700.00; billed 2,500 - 2,500 + 4,100 + 1,000
    # = 5,100.00; cost 2,347.50; backlog 20,000 - 4,700 = 15,300.00.
    assert amounts(position, *PORTFOLIO) == {
        "recognized": Decimal("4700"), "billed": Decimal("5100"),
        "unbilled_receivable": Decimal("0"), "deferred_revenue": Decimal("400"),
        "cost": Decimal("2347.50"), "margin": Decimal("2352.50"), "backlog": Decimal("15300"),
    }  # fmt: skip
    assert (position.margin_percent, position.percent_complete) == ("50.05", "")

    # The portfolio as of each month end, from the journal by posting date and costs by
    # service date. 31 Jan: 2,500.00 recognized and billed (the late 400.00 posts on 1 Feb,
    # its cost of 180.00 is January's): cost 1,352.50 + 180.00 = 1,532.50.
    # 28 Feb: recognized 4,100.00, billed 4,100.00, cost 2,072.50.
    expected = {
        D(2025, 1, 31): ("2500", "2500", "0", "0", "1532.50", "967.50", "17500"),
        D(2025, 2, 28): ("4100", "4100", "0", "0", "2072.50", "2027.50", "15900"),
        D(2025, 3, 31): ("4700", "5100", "0", "400", "2347.50", "2352.50", "15300"),
    }
    for as_of, numbers in expected.items():
        answer = await stub.GetPortfolio(
            pb.GetPortfolioRequest(as_of=date_to_proto(as_of), legal_entity="US01")
        )
        [usd] = [c for c in answer.currencies if c.currency == "USD"]
        assert usd.engagements == 1  # the only US01 engagement of this module
        mine = await stub.GetPortfolio(pb.GetPortfolioRequest(as_of=date_to_proto(as_of)))
        assert [c.currency for c in mine.currencies] == sorted(c.currency for c in mine.currencies)
        assert amounts(usd, *PORTFOLIO) == dict(zip(PORTFOLIO, map(Decimal, numbers), strict=True))

    # Trial balance as of 31 Mar, by account code: cash 4,100 Dr, receivables 1,000 Dr,
    # unbilled 0 (2,500 in and out twice, then 4,100 in and out), deferred 400 Cr,
    # revenue 4,700 Cr: the balances sum to zero.
    trial = await stub.GetTrialBalance(
        pb.GetTrialBalanceRequest(legal_entity="US01", as_of=date_to_proto(D(2025, 3, 31)))
    )
    [usd_book] = trial.currencies
    balances = {ln.account_code: money_from_proto(ln.balance).amount for ln in usd_book.lines}
    assert balances == {
        "1000": Decimal("4100"), "1100": Decimal("1000"), "1200": Decimal("0"),
        "2100": Decimal("-400"), "4000": Decimal("-4700"),
    }  # fmt: skip
    # Each entry's amount once per side: 2,500 x 3 (recognition, invoice A, credit note)
    # + 400 + 1,200 + 4,100 + 1,000 + 4,100 + 600 = 18,900.00.
    assert amounts(usd_book, "total_debit", "total_credit") == {
        "total_debit": Decimal("18900"),
        "total_credit": Decimal("18900"),
    }

    # Revenue by month (posting date) with cost (service date): Jan 2,500.00 / 1,532.50,
    # Feb 400 + 1,200 = 1,600.00 / 540.00, Mar 600.00 / 275.00.
    months, token = [], ""
    while True:  # two rows a page
        report = await stub.GetRevenueReport(pb.GetRevenueReportRequest(
            legal_entity="US01", from_date=date_to_proto(D(2025, 1, 1)),
            to_date=date_to_proto(D(2025, 3, 31)), group_by=pb.REVENUE_GROUP_BY_MONTH,
            page_size=2, page_token=token,
        ))  # fmt: skip
        months += report.rows
        if not (token := report.next_page_token):
            break
    assert [(r.key, *amounts(r, "recognized", "cost", "margin").values()) for r in months] == [
        ("2025-01", Decimal("2500"), Decimal("1532.50"), Decimal("967.50")),
        ("2025-02", Decimal("1600"), Decimal("540"), Decimal("1060")),
        ("2025-03", Decimal("600"), Decimal("275"), Decimal("325")),
    ]
    for group, key, label in (
        (pb.REVENUE_GROUP_BY_ENGAGEMENT, str(e.id), f"PRJ-US01-2025-{e.id.int % 10_000:04d}"),
        (pb.REVENUE_GROUP_BY_CUSTOMER, e.customer_id, "Northwind Ltd"),
    ):
        rows = (await stub.GetRevenueReport(pb.GetRevenueReportRequest(
            from_date=date_to_proto(D(2025, 1, 1)), to_date=date_to_proto(D(2025, 3, 31)),
            group_by=group,
        ))).rows  # fmt: skip
        [row] = [r for r in rows if r.key == key]
        assert (row.label, money_from_proto(row.recognized)) == (label, Money.of(4700, "USD"))

    # The engagement's journal in posting order; the late entry keeps its service date.
    journal = (await stub.GetJournal(pb.GetJournalRequest(engagement_id=str(e.id)))).entries
    assert [(x.kind, x.period) for x in journal] == [
        (pb.JOURNAL_ENTRY_KIND_RECOGNITION, "2025-01"),
        (pb.JOURNAL_ENTRY_KIND_INVOICE, "2025-01"),
        (pb.JOURNAL_ENTRY_KIND_CREDIT_NOTE, "2025-02"),
        (pb.JOURNAL_ENTRY_KIND_RECOGNITION, "2025-02"),
        (pb.JOURNAL_ENTRY_KIND_RECOGNITION, "2025-02"),
        (pb.JOURNAL_ENTRY_KIND_INVOICE, "2025-02"),
        (pb.JOURNAL_ENTRY_KIND_INVOICE, "2025-03"),
        (pb.JOURNAL_ENTRY_KIND_PAYMENT, "2025-03"),
        (pb.JOURNAL_ENTRY_KIND_RECOGNITION, "2025-03"),
    ]
    late = journal[3]
    assert (late.service_date.day, late.posting_date.month, late.posting_date.day) == (31, 2, 1)
    assert [(ln.account_code, ln.account_name) for ln in journal[2].lines] == [
        ("1200", "Unbilled receivable"), ("1100", "Accounts receivable"),
    ]  # fmt: skip

    # February's journal of the entity, two entries a page.
    seen, token = [], ""
    while True:
        page = await stub.GetJournal(pb.GetJournalRequest(
            legal_entity="US01", period="2025-02", page_size=2, page_token=token
        ))  # fmt: skip
        seen += [x.id for x in page.entries]
        token = page.next_page_token
        if not token:
            break
    assert seen == [x.id for x in journal[2:6]]

    periods, token = [], ""
    while True:
        page = await stub.ListPeriods(
            pb.ListPeriodsRequest(legal_entity="US01", page_size=2, page_token=token)
        )
        periods += [(p.period, p.status) for p in page.periods]
        if not (token := page.next_page_token):
            break
    assert periods == [
        ("2025-03", pb.PERIOD_STATUS_OPEN),
        ("2025-02", pb.PERIOD_STATUS_OPEN),
        ("2025-01", pb.PERIOD_STATUS_CLOSED),
    ]

    # Through the outbox: one revenue.recognized per recognition entry, versions increasing,
    # and the period.closed.
    rows = await revenue.db.fetch(
        "SELECT subject, aggregate_version, payload FROM outbox"
        " WHERE aggregate_id IN ($1, 'US01/2025-01') ORDER BY seq",
        str(e.id),
    )
    recognized = [
        events_pb2.RevenueRecognized.FromString(r["payload"]) for r in rows
        if r["subject"] == "weftwork.revenue.revenue.recognized.v1"
    ]  # fmt: skip
    assert [money_from_proto(x.amount).amount for x in recognized] == [
        Decimal("2500"), Decimal("400"), Decimal("1200"), Decimal("600"),
    ]  # fmt: skip
    versions = [x.version for x in recognized]
    assert versions == sorted(versions) and len(set(versions)) == 4
    assert recognized[-1].position.version == position.version
    assert "weftwork.revenue.period.closed.v1" in [r["subject"] for r in rows]


async def test_an_invoice_before_its_activation_waits_for_it(revenue: Running) -> None:
    e = Engagement(BillingModel.MILESTONE, "GBP", "UK01", contract_value="900.00")
    await publish(revenue, e.issued(uuid.uuid4(), D(2025, 5, 2), "900.00", "180.00"))
    code, _, _ = await rpc_error(
        revenue.stub.GetPosition(pb.GetPositionRequest(engagement_id=str(e.id)))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    await publish(revenue, e.activated(), e.milestone("m1", D(2025, 5, 9), "900.00"))
    batch = await revenue.stub.BatchGetPositions(
        pb.BatchGetPositionsRequest(engagement_ids=[str(e.id), str(uuid.UUID(int=7))])
    )
    [position] = batch.positions
    assert list(batch.missing_engagement_ids) == [str(uuid.UUID(int=7))]
    # Billed ahead (Cr deferred 900.00), then recognized from deferred revenue.
    assert amounts(position, "recognized", "billed", "deferred_revenue") == {
        "recognized": Decimal("900"),
        "billed": Decimal("900"),
        "deferred_revenue": Decimal("0"),
    }
    assert position.percent_complete == "100.00"
    assert not await revenue.db.fetchval("SELECT count(*) FROM parked_events")


async def test_an_event_that_breaks_its_contract_is_dead_lettered_and_changes_nothing(
    revenue: Running,
) -> None:
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "EUR", "DE01")
    await publish(revenue, e.activated())
    before = await counts(revenue.db)
    wrong = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", "DE01", id=e.id)
    await publish(revenue, wrong.issued(uuid.uuid4(), D(2025, 5, 2), "10.00"))
    error = await revenue.db.fetchval(
        "SELECT error FROM dead_letters WHERE consumer = 'revenue-billing'"
    )
    assert "USD on a EUR engagement" in error
    assert await counts(revenue.db) == before


BAD_REQUESTS: Sequence[tuple[str, Any, str]] = [
    ("GetPosition", pb.GetPositionRequest(engagement_id="nope"), "engagement_id"),
    ("BatchGetPositions", pb.BatchGetPositionsRequest(engagement_ids=["x"]), "engagement_ids[0]"),
    ("GetJournal", pb.GetJournalRequest(), "legal_entity"),
    ("GetJournal", pb.GetJournalRequest(legal_entity="US01", period="2025-13"), "period"),
    ("GetJournal", pb.GetJournalRequest(legal_entity="US01", period="2025-01", page_size=101),
     "page_size"),
    ("GetJournal", pb.GetJournalRequest(legal_entity="US01", period="2025-01", page_token="!"),
     "page_token"),
    ("GetJournal", pb.GetJournalRequest(engagement_id=str(uuid.uuid4()), legal_entity="US01"),
     "engagement_id"),
    ("GetTrialBalance", pb.GetTrialBalanceRequest(legal_entity="US01"), "as_of"),
    ("GetRevenueReport", pb.GetRevenueReportRequest(
        from_date=date_to_proto(D(2025, 3, 1)), to_date=date_to_proto(D(2025, 2, 1))), "to_date"),
    ("GetRevenueReport", pb.GetRevenueReportRequest(
        from_date=date_to_proto(D(2025, 3, 1)), to_date=date_to_proto(D(2025, 3, 1)),
        group_by=99), "group_by"),  # type: ignore[arg-type]
    ("GetPortfolio", pb.GetPortfolioRequest(legal_entity="us01",
                                            as_of=date_to_proto(D(2025, 3, 1))), "legal_entity"),
    ("ClosePeriod", pb.ClosePeriodRequest(legal_entity="US01", period="March"), "period"),
    ("ClosePeriod", pb.ClosePeriodRequest(legal_entity="", period="2025-01"), "legal_entity"),
    ("ListPeriods", pb.ListPeriodsRequest(legal_entity="US01", page_token="e30="), "page_token"),
    ("GetJournalExport", pb.GetJournalExportRequest(legal_entity="XX99", period="2025-01"),
     "legal_entity"),  # well-formed but not configured
    ("GetJournalExport", pb.GetJournalExportRequest(legal_entity="x", period="2025-01"),
     "legal_entity"),
    ("GetJournalExport", pb.GetJournalExportRequest(legal_entity="US01", period="2025-1"),
     "period"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "request_", "field"), BAD_REQUESTS)
async def test_bad_requests_are_invalid_argument_with_the_field_and_write_nothing(
    revenue: Running, method: str, request_: Any, field: str
) -> None:
    before = await counts(revenue.db)
    code, _, violations = await rpc_error(getattr(revenue.stub, method)(request_))
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
    assert await counts(revenue.db) == before


async def test_wrong_state_is_failed_precondition_and_unknown_is_not_found(
    revenue: Running,
) -> None:
    before = await counts(revenue.db)
    stub = revenue.stub
    future = dt.date.today().strftime("%Y-%m")
    code, message, _ = await rpc_error(
        stub.ClosePeriod(pb.ClosePeriodRequest(legal_entity="US01", period=future))
    )
    assert (code, "has not ended" in message) == (grpc.StatusCode.FAILED_PRECONDITION, True)
    code, _, _ = await rpc_error(
        stub.GetJournal(pb.GetJournalRequest(engagement_id=str(uuid.uuid4())))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert await counts(revenue.db) == before
