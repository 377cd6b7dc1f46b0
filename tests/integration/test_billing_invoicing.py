"""Billing over real gRPC, PostgreSQL and NATS: from approved work to issued, voided, paid."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import grpc
import pytest
from google.protobuf.message import Message

from mesh.grpc.convert import date_to_proto
from tests.conftest import Stack
from tests.support import rpc_error
from tests.unit.billing_fakes import (
    FIXED_FEE,
    MILESTONE,
    TM,
    Billing,
    amount,
    money,
    rated,
    running_billing,
)
from weftwork.billing.v1 import billing_service_pb2 as pb

D = dt.date
NUMBER = re.compile(r"^UK01-2025-\d{6}$")


@pytest.fixture(scope="module")
async def billing(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Billing]:
    async with running_billing(
        stack.database_url, module_nats, tmp_path_factory.mktemp("billing")
    ) as running:
        yield running


# Another draft for the engagement of invoice $1.
A_SECOND_DRAFT = (
    "(id, engagement_id, customer_id, legal_entity, currency, status)"
    " SELECT gen_random_uuid(), engagement_id, customer_id, legal_entity, currency, 'DRAFT'"
    " FROM invoices WHERE id = $1"
)


async def in_savepoint(conn: asyncpg.Connection, sql: str, *args: object) -> None:
    async with conn.transaction():
        await conn.execute(sql, *args)


def lines_by_source(invoice: pb.Invoice) -> dict[str, pb.InvoiceLine]:
    return {line.source_ids[0]: line for line in invoice.lines}


async def test_tm_invoice_lines_equal_the_approved_billable_entries_to_the_cent(
    billing: Billing,
) -> None:
    engagement = await billing.producers.activate(entity="UK01", currency="GBP", country="GB")
    march = [
        rated("7.25", "123.45", D(2025, 3, 3), currency="GBP"),  # 895.0125 -> 895.01
        rated("0.33", "99.99", D(2025, 3, 4), currency="GBP"),  # 32.9967 -> 33.00
        rated("2.5", "180.00", D(2025, 3, 5), currency="GBP", role="Senior Consultant"),
    ]
    non_billable = rated("3", "123.45", D(2025, 3, 6), currency="GBP", billable=False)
    april = rated("8", "150.00", D(2025, 4, 2), currency="GBP")
    await billing.producers.approve_time(engagement, [*march, non_billable, april])
    await billing.unbilled(engagement, 4)  # the non-billable entry never becomes an item

    draft = await billing.draft(engagement, cutoff=D(2025, 3, 31))

    assert draft.status == pb.INVOICE_STATUS_DRAFT
    lines = lines_by_source(draft)
    assert set(lines) == {e.time_entry_id for e in march}
    for entry in march:
        line = lines[entry.time_entry_id]
        assert line.kind == pb.INVOICE_LINE_KIND_TIME
        assert amount(line.amount) == amount(entry.bill_amount)
        assert (line.quantity, amount(line.unit_price)) == (entry.hours, Decimal(entry.bill_rate))
        assert line.service_start_date == entry.date
    assert [amount(lines[e.time_entry_id].amount) for e in march] == [
        Decimal("895.01"),
        Decimal("33.00"),
        Decimal("450.00"),
    ]
    assert amount(draft.subtotal) == Decimal("1378.01")
    assert (draft.tax_rate, amount(draft.tax)) == ("20", Decimal("275.60"))  # a preview
    assert amount(draft.total) == Decimal("1653.61")
    rest = await billing.unbilled(engagement, 1)
    assert [i.source_id for i in rest.items] == [april.time_entry_id]
    every_line = [
        s for i in await billing.run(D(2025, 12, 31), engagement) for s in lines_by_source(i)
    ]
    assert non_billable.time_entry_id not in every_line


async def test_rerun_is_a_no_op_and_adds_newly_approved_items_to_the_existing_draft(
    billing: Billing,
) -> None:
    engagement = await billing.producers.activate()
    first = rated("4", "100.00", D(2025, 5, 2), currency="GBP")
    await billing.producers.approve_time(engagement, [first])
    await billing.unbilled(engagement, 1)
    draft = await billing.draft(engagement, D(2025, 5, 31))
    assert (draft.version, len(draft.lines)) == (1, 1)

    assert await billing.run(D(2025, 5, 31), engagement) == []
    assert (await billing.invoice(draft.id)).version == 1

    second = rated("2", "100.00", D(2025, 5, 9), currency="GBP")
    await billing.producers.approve_time(engagement, [second])
    await billing.unbilled(engagement, 1)
    extended = await billing.draft(engagement, D(2025, 5, 31))

    assert extended.id == draft.id
    assert extended.version == 2
    assert set(lines_by_source(extended)) == {first.time_entry_id, second.time_entry_id}
    assert amount(extended.subtotal) == Decimal("600.00")
    drafts = await billing.db.fetchval(
        "SELECT count(*) FROM invoices WHERE engagement_id = $1", engagement.id
    )
    assert drafts == 1


async def test_voided_invoice_hours_are_billed_exactly_once(billing: Billing) -> None:
    engagement = await billing.producers.activate()
    entries = [rated("8", "120.00", D(2025, 6, d), currency="GBP") for d in (2, 3, 4)]
    await billing.producers.approve_time(engagement, entries)
    await billing.unbilled(engagement, 3)
    original = await billing.issue(await billing.draft(engagement, D(2025, 6, 30)), D(2025, 7, 1))
    assert NUMBER.match(original.number)

    voided = (
        await billing.stub.VoidInvoice(pb.VoidInvoiceRequest(id=original.id, reason="Wrong PO"))
    ).invoice

    assert voided.status == pb.INVOICE_STATUS_VOID
    assert re.match(r"^CN-UK01-\d{4}-\d{6}$", voided.credit_note_number)
    assert voided.void_reason == "Wrong PO"
    assert len(voided.lines) == 3  # kept for the record
    assert amount(voided.balance) == 0
    again = await billing.stub.VoidInvoice(pb.VoidInvoiceRequest(id=original.id, reason="Retry"))
    assert again.invoice.credit_note_number == voided.credit_note_number  # a retry, no new note
    assert len((await billing.unbilled(engagement, 3)).items) == 3

    later = rated("4", "120.00", D(2025, 6, 5), currency="GBP")
    await billing.producers.approve_time(engagement, [later])
    await billing.unbilled(engagement, 4)
    replacement = await billing.issue(
        await billing.draft(engagement, D(2025, 6, 30)), D(2025, 7, 2)
    )
    assert await billing.run(D(2025, 12, 31), engagement) == []

    everything = (
        await billing.stub.BatchGetInvoicesByEngagement(
            pb.BatchGetInvoicesByEngagementRequest(engagement_ids=[engagement.id])
        )
    ).engagements[0]
    live = [i for i in everything.invoices if i.status != pb.INVOICE_STATUS_VOID]
    assert [i.id for i in live] == [replacement.id]
    billed = [s for i in live for line in i.lines for s in line.source_ids]
    assert sorted(billed) == sorted(e.time_entry_id for e in [*entries, later])
    billed_hours = sum(Decimal(line.quantity) for i in live for line in i.lines)
    assert billed_hours == Decimal("28")
    assert amount(replacement.subtotal) == Decimal("3360.00")
    assert replacement.number != original.number


async def test_the_schema_refuses_an_item_on_two_live_invoices_or_two_drafts(
    billing: Billing,
) -> None:
    engagement = await billing.producers.activate()
    await billing.producers.approve_time(
        engagement, [rated("1", "100.00", D(2025, 6, 2), currency="GBP")]
    )
    await billing.unbilled(engagement, 1)
    issued = await billing.issue(await billing.draft(engagement, D(2025, 6, 30)), D(2025, 7, 1))
    async with billing.db.acquire() as conn:
        own = conn.transaction()  # rolled back: the module's database stays as it was
        await own.start()
        try:
            other = await conn.fetchval(
                f"INSERT INTO invoices {A_SECOND_DRAFT} RETURNING id", issued.id
            )
            with pytest.raises(asyncpg.UniqueViolationError, match="one_live_invoice"):
                await in_savepoint(
                    conn,
                    "INSERT INTO invoice_items (invoice_id, item_id)"
                    " SELECT $1, item_id FROM invoice_items WHERE invoice_id = $2",
                    other,
                    issued.id,
                )
            with pytest.raises(asyncpg.UniqueViolationError, match="one_draft_per_engagement"):
                await in_savepoint(conn, f"INSERT INTO invoices {A_SECOND_DRAFT}", other)
        finally:
            await own.rollback()


async def test_a_completed_fixed_fee_milestone_is_one_line_of_its_amount(billing: Billing) -> None:
    producers = billing.producers
    engagement = await producers.activate(
        model=FIXED_FEE, milestones=(("Discovery", "12000.00"), ("Go-live", "8000.00"))
    )
    hours = rated("8", "150.00", D(2025, 6, 2), currency="GBP")
    await producers.approve_time(engagement, [hours])  # fixed fee: time is never billed
    await producers.approve_expense(engagement, "100.00", D(2025, 6, 3), markup="12.5")
    milestone_id = await producers.complete_milestone(engagement, 0, D(2025, 6, 20), FIXED_FEE)
    await producers.complete_milestone(engagement, 0, D(2025, 6, 20), FIXED_FEE)  # re-emitted
    await billing.unbilled(engagement, 2)
    await billing.settled()

    draft = await billing.draft(engagement, D(2025, 6, 30))

    kinds = sorted((line.kind, amount(line.amount)) for line in draft.lines)
    assert kinds == [
        (pb.INVOICE_LINE_KIND_EXPENSE, Decimal("112.50")),
        (pb.INVOICE_LINE_KIND_MILESTONE, Decimal("12000.00")),
    ]
    [milestone] = [line for line in draft.lines if line.kind == pb.INVOICE_LINE_KIND_MILESTONE]
    assert list(milestone.source_ids) == [milestone_id]
    assert milestone.description == "Milestone: Discovery"
    assert hours.time_entry_id not in lines_by_source(draft)


async def test_milestones_bill_only_on_milestone_models_and_expenses_on_all(
    billing: Billing,
) -> None:
    producers = billing.producers
    by_milestone = await producers.activate(model=MILESTONE, milestones=(("Phase 1", "5000"),))
    tm = await producers.activate(model=TM, milestones=(("Checkpoint", "999"),), markup="10")
    await producers.complete_milestone(by_milestone, 0, D(2025, 6, 20), MILESTONE)
    await producers.complete_milestone(tm, 0, D(2025, 6, 20), TM)
    await producers.approve_expense(tm, "80.00", D(2025, 6, 21))  # the profile's 10% markup
    await producers.approve_expense(tm, "55.00", D(2025, 6, 21), billable=False)
    await billing.settled()

    assert [amount(i.amount) for i in (await billing.unbilled(by_milestone, 1)).items] == [
        Decimal("5000.00")
    ]
    [expense] = (await billing.unbilled(tm, 1)).items
    assert (expense.kind, amount(expense.amount)) == (
        pb.INVOICE_LINE_KIND_EXPENSE,
        Decimal("88.00"),
    )


@pytest.mark.parametrize(
    ("entity", "currency", "country", "rate", "tax", "note"),
    [
        ("UK01", "GBP", "GB", "20", "200.00", ""),
        (
            "DE01",
            "EUR",
            "FR",
            "0",
            "0.00",
            "Reverse charge: VAT to be accounted for by the recipient, Art. 196 Council"
            " Directive 2006/112/EC",
        ),
        ("DE01", "EUR", "DE", "19", "190.00", ""),
        ("US01", "USD", "GB", "0", "0.00", ""),
    ],
)
async def test_vat_follows_the_entity_and_the_customers_country(
    billing: Billing, entity: str, currency: str, country: str, rate: str, tax: str, note: str
) -> None:
    engagement = await billing.producers.activate(
        entity=entity, currency=currency, country=country, terms=45
    )
    await billing.producers.approve_time(
        engagement, [rated("10", "100.00", D(2025, 8, 1), currency=currency)]
    )
    await billing.unbilled(engagement, 1)

    issued = await billing.issue(await billing.draft(engagement, D(2025, 8, 31)), D(2025, 9, 1))

    assert re.match(rf"^{entity}-2025-\d{{6}}$", issued.number)
    assert (issued.tax_rate, amount(issued.tax), issued.tax_note) == (rate, Decimal(tax), note)
    assert amount(issued.total) == Decimal("1000.00") + Decimal(tax)
    assert issued.due_date == date_to_proto(D(2025, 10, 16))  # 45 days' terms
    assert issued.currency == currency


async def test_tax_is_rounded_once_on_the_subtotal(billing: Billing) -> None:
    engagement = await billing.producers.activate()
    thirds = [rated("1", "0.33", D(2025, 8, d), currency="GBP") for d in (4, 5, 6)]
    await billing.producers.approve_time(engagement, thirds)
    await billing.unbilled(engagement, 3)

    issued = await billing.issue(await billing.draft(engagement, D(2025, 8, 31)), D(2025, 9, 1))

    # Per line: 3 x round(0.066) = 0.21; on the subtotal: round(0.99 x 20%) = 0.20.
    assert (amount(issued.subtotal), amount(issued.tax)) == (Decimal("0.99"), Decimal("0.20"))


async def test_invoices_are_listed_filtered_paged_and_read_in_batches(billing: Billing) -> None:
    stub = billing.stub
    engagement = await billing.producers.activate(entity="DE01", currency="EUR", country="DE")
    issued = []
    for month in (1, 2, 3):
        await billing.producers.approve_time(
            engagement, [rated("1", "50.00", D(2024, month, 10), currency="EUR")]
        )
        await billing.unbilled(engagement, 1)
        draft = await billing.draft(engagement, D(2024, month, 28))
        issued.append(await billing.issue(draft, D(2024, month, 28)))
    await billing.producers.approve_time(
        engagement, [rated("1", "50.00", D(2024, 4, 10), currency="EUR")]
    )
    await billing.unbilled(engagement, 1)
    draft = await billing.draft(engagement, D(2024, 4, 30))

    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListInvoices(
            pb.ListInvoicesRequest(page_size=3, page_token=token, engagement_id=engagement.id)
        )
        seen += [i.id for i in page.invoices]
        if not (token := page.next_page_token):
            break
    assert seen == [draft.id, *[i.id for i in reversed(issued)]]  # drafts first, then newest
    only_issued = await stub.ListInvoices(
        pb.ListInvoicesRequest(
            status=pb.INVOICE_STATUS_ISSUED,
            legal_entities=["DE01", "UK01"],
            engagement_id=engagement.id,
        )
    )
    assert [i.number for i in only_issued.invoices] == [i.number for i in reversed(issued)]
    elsewhere = await stub.ListInvoices(
        pb.ListInvoicesRequest(legal_entities=["UK01"], engagement_id=engagement.id)
    )
    assert list(elsewhere.invoices) == []

    unknown = "3f0c9f0e-2a4b-4f59-9d7a-8a4c2b1d0e11"
    batch = await stub.BatchGetInvoices(
        pb.BatchGetInvoicesRequest(ids=[issued[1].id, unknown, draft.id])
    )
    assert [i.id for i in batch.invoices] == [issued[1].id, draft.id]
    assert list(batch.missing_ids) == [unknown]
    by_engagement = await stub.BatchGetInvoicesByEngagement(
        pb.BatchGetInvoicesByEngagementRequest(engagement_ids=[unknown, engagement.id])
    )
    assert [(e.engagement_id, e.set_up, len(e.invoices)) for e in by_engagement.engagements] == [
        (unknown, False, 0),
        (engagement.id, True, 4),
    ]


UNKNOWN = "3f0c9f0e-2a4b-4f59-9d7a-8a4c2b1d0e11"
JUNE = date_to_proto(D(2025, 6, 30))
BAD_REQUESTS = [
    ("RunBilling", pb.RunBillingRequest(), "cutoff"),
    ("RunBilling", pb.RunBillingRequest(cutoff=JUNE, engagement_id="x"), "engagement_id"),
    ("RunBilling", pb.RunBillingRequest(cutoff=JUNE, legal_entity="uk 01"), "legal_entity"),
    ("RunBilling", pb.RunBillingRequest(cutoff=JUNE, idempotency_key="k" * 129), "idempotency_key"),
    ("IssueInvoice", pb.IssueInvoiceRequest(id="nope", issue_date=JUNE), "id"),
    ("IssueInvoice", pb.IssueInvoiceRequest(id=UNKNOWN), "issue_date"),
    ("VoidInvoice", pb.VoidInvoiceRequest(id=UNKNOWN, reason="  "), "reason"),
    (
        "RecordPayment",
        pb.RecordPaymentRequest(
            invoice_id=UNKNOWN, amount=money("1", "GBP"), received_on=JUNE, reference=""
        ),
        "reference",
    ),
    (
        "RecordPayment",
        pb.RecordPaymentRequest(invoice_id=UNKNOWN, received_on=JUNE, reference="r"),
        "amount.currency_code",
    ),
    (
        "RecordPayment",
        pb.RecordPaymentRequest(invoice_id=UNKNOWN, amount=money("1", "GBP"), reference="r"),
        "received_on",
    ),
    ("GetInvoice", pb.GetInvoiceRequest(id="1"), "id"),
    ("BatchGetInvoices", pb.BatchGetInvoicesRequest(ids=[UNKNOWN, "x"]), "ids[1]"),
    ("BatchGetInvoices", pb.BatchGetInvoicesRequest(ids=[UNKNOWN] * 1001), "ids"),
    ("ListInvoices", pb.ListInvoicesRequest(page_size=101), "page_size"),
    ("ListInvoices", pb.ListInvoicesRequest(page_token="garbage!"), "page_token"),
    ("ListInvoices", pb.ListInvoicesRequest(status=99), "status"),  # type: ignore[arg-type]
    ("ListInvoices", pb.ListInvoicesRequest(legal_entities=["UK01", "?"]), "legal_entities[1]"),
    (
        "BatchGetInvoicesByEngagement",
        pb.BatchGetInvoicesByEngagementRequest(engagement_ids=["x"]),
        "engagement_ids[0]",
    ),
    ("GetUnbilled", pb.GetUnbilledRequest(), "engagement_id"),
    ("GetAging", pb.GetAgingRequest(), "as_of"),
    ("GetAging", pb.GetAgingRequest(as_of=JUNE, legal_entity="u"), "legal_entity"),
]


@pytest.mark.parametrize(("method", "request_", "field"), BAD_REQUESTS)
async def test_bad_input_is_invalid_argument_on_its_field_and_writes_nothing(
    billing: Billing, method: str, request_: Message, field: str
) -> None:
    before = await billing.rows()
    code, _, violations = await rpc_error(getattr(billing.stub, method)(request_))
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
    assert await billing.rows() == before


async def test_unknown_invoices_and_engagements_are_not_found(billing: Billing) -> None:
    stub = billing.stub
    before = await billing.rows()
    calls = [
        stub.GetInvoice(pb.GetInvoiceRequest(id=UNKNOWN)),
        stub.IssueInvoice(pb.IssueInvoiceRequest(id=UNKNOWN, issue_date=JUNE)),
        stub.VoidInvoice(pb.VoidInvoiceRequest(id=UNKNOWN, reason="r")),
        stub.RecordPayment(
            pb.RecordPaymentRequest(
                invoice_id=UNKNOWN, amount=money("1", "GBP"), received_on=JUNE, reference="r"
            )
        ),
        stub.RunBilling(pb.RunBillingRequest(cutoff=JUNE, engagement_id=UNKNOWN)),
        stub.GetUnbilled(pb.GetUnbilledRequest(engagement_id=UNKNOWN)),
    ]
    for call in calls:
        code, message, _ = await rpc_error(call)
        assert (code, UNKNOWN in message) == (grpc.StatusCode.NOT_FOUND, True)
    assert await billing.rows() == before


async def test_a_draft_is_voided_without_a_credit_note_and_an_issue_needs_a_draft(
    billing: Billing,
) -> None:
    engagement = await billing.producers.activate()
    await billing.producers.approve_time(
        engagement, [rated("1", "10.00", D(2025, 6, 1), currency="GBP")]
    )
    await billing.unbilled(engagement, 1)
    draft = await billing.draft(engagement, D(2025, 6, 30))
    before = await billing.rows()

    voided = await billing.stub.VoidInvoice(pb.VoidInvoiceRequest(id=draft.id, reason="Not yet"))

    assert (voided.invoice.status, voided.invoice.credit_note_number) == (
        pb.INVOICE_STATUS_VOID,
        "",
    )
    assert (await billing.rows())["outbox"] == before["outbox"]  # drafts emit nothing
    code, _, _ = await rpc_error(
        billing.stub.IssueInvoice(pb.IssueInvoiceRequest(id=draft.id, issue_date=JUNE))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert len((await billing.unbilled(engagement, 1)).items) == 1


async def test_an_entity_billing_has_no_tax_rules_for_is_drafted_but_never_issued(
    billing: Billing,
) -> None:
    engagement = await billing.producers.activate(entity="FR01", currency="EUR", country="FR")
    await billing.producers.approve_time(
        engagement, [rated("1", "10.00", D(2025, 6, 1), currency="EUR")]
    )
    await billing.unbilled(engagement, 1)
    draft = await billing.draft(engagement, D(2025, 6, 30))
    before = await billing.rows()

    code, message, _ = await rpc_error(
        billing.stub.IssueInvoice(pb.IssueInvoiceRequest(id=draft.id, issue_date=JUNE))
    )

    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "FR01" in message
    assert "WEFTWORK_LEGAL_ENTITIES" in message
    assert await billing.rows() == before
