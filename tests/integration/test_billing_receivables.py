"""Receivables over real gRPC, PostgreSQL and NATS: payments, aging, idempotency, events."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import grpc
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_binary
from google.protobuf.message import Message

from mesh.events.streams import ensure_stream
from mesh.grpc.convert import date_to_proto
from services.billing.domain.taxes import DEFAULT_LEGAL_ENTITIES
from tests.conftest import Stack
from tests.support import ProtobufFormat, eventually, rpc_error
from tests.unit.billing_fakes import Billing, amount, money, rated, running_billing
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.billing.v1 import events_pb2

D = dt.date
# An entity of this module's own (configured like any other), so aging sees only its invoices.
AGING = replace(DEFAULT_LEGAL_ENTITIES["UK01"], code="AG01")
EVENT_TYPES: dict[str, type[Message]] = {
    "weftwork.billing.invoice.issued.v1": events_pb2.InvoiceIssued,
    "weftwork.billing.invoice.voided.v1": events_pb2.InvoiceVoided,
    "weftwork.billing.payment.recorded.v1": events_pb2.PaymentRecorded,
}


@pytest.fixture(scope="module")
async def billing(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Billing]:
    async with running_billing(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("billing"),
        entities={**DEFAULT_LEGAL_ENTITIES, AGING.code: AGING},
    ) as running:
        yield running


async def invoice_of(
    billing: Billing,
    issue_date: D | None,
    *,
    entity: str = "UK01",
    currency: str = "GBP",
    hours: str = "10",
) -> pb.Invoice:
    """A one-line invoice (hours at 10.00, customer in GB), issued unless issue_date is None."""
    engagement = await billing.producers.activate(entity=entity, currency=currency, country="GB")
    day = issue_date or D(2025, 1, 15)
    await billing.producers.approve_time(
        engagement, [rated(hours, "10.00", day - dt.timedelta(days=1), currency=currency)]
    )
    await billing.unbilled(engagement, 1)
    draft = await billing.draft(engagement, day)
    return await billing.issue(draft, issue_date) if issue_date else draft


def pay(
    invoice: pb.Invoice, value: str, received_on: D, reference: str, **fields: object
) -> pb.RecordPaymentRequest:
    return pb.RecordPaymentRequest(
        invoice_id=invoice.id,
        amount=money(value, str(fields.pop("currency", invoice.currency))),
        received_on=date_to_proto(received_on),
        reference=reference,
        **fields,  # type: ignore[arg-type]
    )


async def test_partial_full_and_over_payment(billing: Billing) -> None:
    stub = billing.stub
    invoice = await invoice_of(billing, D(2025, 9, 1), hours="100")  # 1000.00 + 20% VAT
    assert amount(invoice.total) == Decimal("1200.00")

    partial = await stub.RecordPayment(pay(invoice, "500.00", D(2025, 9, 10), "BACS-1"))
    assert partial.invoice.status == pb.INVOICE_STATUS_PARTIALLY_PAID
    assert (amount(partial.invoice.amount_paid), amount(partial.invoice.balance)) == (
        Decimal("500.00"),
        Decimal("700.00"),
    )
    before = await billing.rows()
    retried = await stub.RecordPayment(pay(invoice, "500.00", D(2025, 9, 10), "BACS-1"))
    assert retried.payment.id == partial.payment.id
    assert await billing.rows() == before

    refused = [
        (pay(invoice, "400.00", D(2025, 9, 10), "BACS-1"), grpc.StatusCode.ALREADY_EXISTS, []),
        (pay(invoice, "700.01", D(2025, 9, 11), "BACS-2"), grpc.StatusCode.FAILED_PRECONDITION, []),
        (
            pay(invoice, "10.00", D(2025, 9, 11), "BACS-3", currency="EUR"),
            grpc.StatusCode.INVALID_ARGUMENT,
            ["amount.currency_code"],
        ),
        (
            pay(invoice, "10.001", D(2025, 9, 11), "B-4"),
            grpc.StatusCode.INVALID_ARGUMENT,
            ["amount"],
        ),
        (pay(invoice, "0", D(2025, 9, 11), "B-5"), grpc.StatusCode.INVALID_ARGUMENT, ["amount"]),
        (
            pay(invoice, "10.00", D(2025, 8, 31), "B-6"),
            grpc.StatusCode.INVALID_ARGUMENT,
            ["received_on"],
        ),
        (
            pay(invoice, "10.00", D(2025, 9, 11), " "),
            grpc.StatusCode.INVALID_ARGUMENT,
            ["reference"],
        ),
    ]
    for request, code, fields in refused:
        got, message, violations = await rpc_error(stub.RecordPayment(request))
        assert (got, [v.field for v in violations]) == (code, fields), message
    _, message, _ = await rpc_error(stub.RecordPayment(refused[1][0]))
    assert "over-payment" in message
    assert "700.00" in message
    code, _, _ = await rpc_error(stub.VoidInvoice(pb.VoidInvoiceRequest(id=invoice.id, reason="x")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # money was received against it
    assert await billing.rows() == before

    full = await stub.RecordPayment(pay(invoice, "700.00", D(2025, 9, 20), "BACS-2"))
    assert full.invoice.status == pb.INVOICE_STATUS_PAID
    assert amount(full.invoice.balance) == 0
    assert [p.reference for p in full.invoice.payments] == ["BACS-1", "BACS-2"]
    code, message, _ = await rpc_error(
        stub.RecordPayment(pay(invoice, "0.01", D(2025, 9, 21), "BACS-9"))
    )
    assert (code, "paid in full" in message) == (grpc.StatusCode.FAILED_PRECONDITION, True)


async def test_payment_on_a_draft_or_a_void_is_refused(billing: Billing) -> None:
    draft = await invoice_of(billing, None)
    code, message, _ = await rpc_error(
        billing.stub.RecordPayment(pay(draft, "1.00", D(2025, 9, 1), "EARLY"))
    )
    assert (code, "draft" in message) == (grpc.StatusCode.FAILED_PRECONDITION, True)

    issued = await invoice_of(billing, D(2025, 9, 1))
    await billing.stub.VoidInvoice(pb.VoidInvoiceRequest(id=issued.id, reason="Duplicate"))
    code, message, _ = await rpc_error(
        billing.stub.RecordPayment(pay(issued, "1.00", D(2025, 9, 2), "LATE"))
    )
    assert (code, "void" in message) == (grpc.StatusCode.FAILED_PRECONDITION, True)


def buckets(report: pb.GetAgingResponse) -> dict[str, tuple[Decimal | int, ...]]:
    return {
        c.currency: (
            amount(c.current),
            amount(c.overdue_1_to_30),
            amount(c.overdue_31_to_60),
            amount(c.overdue_61_to_90),
            amount(c.overdue_over_90),
            amount(c.total),
            c.open_invoices,
        )
        for c in report.currencies
    }


async def test_aging_buckets_per_currency_on_fixed_dates(billing: Billing) -> None:
    stub = billing.stub
    make = {"entity": AGING.code}
    # Each invoice is 120.00 (100.00 + 20% VAT), due 30 days after issue.
    await invoice_of(billing, D(2025, 3, 1), currency="USD", **make)  # due 03-31
    eur = await invoice_of(billing, D(2025, 4, 1), currency="EUR", **make)  # due 05-01
    await invoice_of(billing, D(2025, 4, 1), currency="USD", **make)  # due 05-01
    await invoice_of(billing, D(2025, 5, 1), currency="GBP", **make)  # due 05-31
    gbp_paid = await invoice_of(billing, D(2025, 5, 15), currency="GBP", **make)  # due 06-14
    await invoice_of(billing, D(2025, 6, 15), currency="GBP", **make)  # due 07-15
    await stub.RecordPayment(pay(eur, "50.00", D(2025, 6, 1), "EUR-1"))
    await stub.RecordPayment(pay(eur, "20.00", D(2025, 7, 5), "EUR-2"))  # after both dates
    await stub.RecordPayment(pay(gbp_paid, "120.00", D(2025, 6, 20), "GBP-1"))

    async def aging(as_of: D) -> dict[str, tuple[Decimal | int, ...]]:
        report = await stub.GetAging(
            pb.GetAgingRequest(as_of=date_to_proto(as_of), legal_entity=AGING.code)
        )
        return buckets(report)

    z = Decimal("0.00")
    # current, 1-30, 31-60, 61-90, over 90, total, open invoices
    assert await aging(D(2025, 6, 30)) == {
        "EUR": (z, z, Decimal("70.00"), z, z, Decimal("70.00"), 1),  # 60 days, 50.00 paid
        "GBP": (Decimal("120.00"), Decimal("120.00"), z, z, z, Decimal("240.00"), 2),  # 0 and 30
        "USD": (z, z, Decimal("120.00"), z, Decimal("120.00"), Decimal("240.00"), 2),  # 60, 91
    }
    assert await aging(D(2025, 6, 16)) == {
        "EUR": (z, z, Decimal("70.00"), z, z, Decimal("70.00"), 1),
        "GBP": (Decimal("120.00"), Decimal("240.00"), z, z, z, Decimal("360.00"), 3),
        "USD": (z, z, Decimal("120.00"), Decimal("120.00"), z, Decimal("240.00"), 2),
    }
    assert await aging(D(2025, 3, 31)) == {
        "USD": (Decimal("120.00"), z, z, z, z, Decimal("120.00"), 1),  # due that day: current
    }
    assert await aging(D(2025, 2, 28)) == {}


async def test_an_idempotency_key_returns_the_first_answer_and_refuses_another_request(
    billing: Billing,
) -> None:
    stub = billing.stub
    invoice = await invoice_of(billing, None)
    issue = pb.IssueInvoiceRequest(
        id=invoice.id, issue_date=date_to_proto(D(2025, 10, 1)), idempotency_key="issue-k1"
    )
    first = await stub.IssueInvoice(issue)
    await stub.RecordPayment(pay(first.invoice, "1.00", D(2025, 10, 2), "P-1"))
    assert await stub.IssueInvoice(issue) == first  # the answer as it was, version and all

    request = pay(first.invoice, "2.00", D(2025, 10, 3), "P-2", idempotency_key="pay-k1")
    paid = await stub.RecordPayment(request)
    before = await billing.rows()
    assert await stub.RecordPayment(request) == paid
    other = pay(first.invoice, "3.00", D(2025, 10, 3), "P-3", idempotency_key="pay-k1")
    code, message, violations = await rpc_error(stub.RecordPayment(other))
    # DESIGN.md §6: never the first answer for other content; the gateway shows CONFLICT.
    assert (code, violations) == (grpc.StatusCode.ALREADY_EXISTS, [])
    assert message.startswith("IDEMPOTENCY_KEY_REUSED: ")
    reused = pb.IssueInvoiceRequest(
        id=invoice.id, issue_date=date_to_proto(D(2025, 10, 2)), idempotency_key="pay-k1"
    )
    code, _, _ = await rpc_error(stub.IssueInvoice(reused))
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # keys are per method; the date differs
    assert await billing.rows() == before


async def test_billing_events_carry_what_revenue_needs(billing: Billing) -> None:
    # The service declares its stream in the background; first in a run, the test may be first.
    await ensure_stream(billing.producers.js, "billing")
    subscription = await billing.producers.js.subscribe("weftwork.billing.>", ordered_consumer=True)
    paid = await invoice_of(billing, D(2025, 11, 3))
    payment = await billing.stub.RecordPayment(pay(paid, "20.00", D(2025, 11, 4), "EV-1"))
    voided = await invoice_of(billing, D(2025, 11, 5))
    after_void = await billing.stub.VoidInvoice(pb.VoidInvoiceRequest(id=voided.id, reason="Typo"))
    ours = {paid.id, voided.id}
    received: list[tuple[str, Message, dict[str, str]]] = []

    async def collect() -> int:
        try:
            msg = await subscription.next_msg(timeout=0.5)
        except TimeoutError:
            return len(received)
        headers = dict(msg.headers or {})
        if headers.get("ce-subject") in ours:
            event = from_binary(HTTPMessage(headers=headers, body=msg.data), ProtobufFormat())
            data = event.get_data()
            assert isinstance(data, bytes)  # read by an independent CloudEvents reader
            kind = EVENT_TYPES[event.get_type()]
            received.append((event.get_type(), kind.FromString(data), headers))
        return len(received)

    await eventually(collect, until=lambda n: n >= 4, what="four billing events")
    await subscription.unsubscribe()
    by_kind = {(t.split(".")[-2], h["ce-subject"]): (m, h) for t, m, h in received}

    issued, headers = by_kind[("issued", paid.id)]
    assert isinstance(issued, events_pb2.InvoiceIssued)
    assert (issued.number, issued.version, issued.engagement_id) == (
        paid.number,
        paid.version,
        paid.engagement_id,
    )
    assert (issued.legal_entity, issued.currency, issued.tax_rate) == ("UK01", "GBP", "20")
    assert (amount(issued.subtotal), amount(issued.tax), amount(issued.total)) == (
        Decimal("100.00"),
        Decimal("20.00"),
        Decimal("120.00"),
    )
    assert (issued.issue_date, issued.due_date) == (paid.issue_date, paid.due_date)
    assert [line.source_ids[0] for line in issued.lines] == [paid.lines[0].source_ids[0]]
    assert headers["ce-aggregateversion"] == str(issued.version)
    assert headers["ce-engagementid"] == paid.engagement_id

    recorded, _ = by_kind[("recorded", paid.id)]
    assert isinstance(recorded, events_pb2.PaymentRecorded)
    assert (recorded.payment_id, recorded.status, recorded.currency) == (
        payment.payment.id,
        pb.INVOICE_STATUS_PARTIALLY_PAID,
        "GBP",
    )
    assert (amount(recorded.amount), amount(recorded.balance)) == (
        Decimal("20.00"),
        Decimal("100.00"),
    )
    assert recorded.version == payment.invoice.version

    void, _ = by_kind[("voided", voided.id)]
    assert isinstance(void, events_pb2.InvoiceVoided)
    assert (void.number, void.credit_note_number, void.reason, void.currency) == (
        voided.number,
        after_void.invoice.credit_note_number,
        "Typo",
        "GBP",
    )
    assert list(void.source_ids) == [voided.lines[0].source_ids[0]]
    assert (amount(void.total), void.version) == (Decimal("120.00"), after_void.invoice.version)
