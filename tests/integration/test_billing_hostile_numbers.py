"""Hostile numbers (DESIGN.md §6) where money enters billing: a payment's google.type.Money is
INVALID_ARGUMENT naming the field with nothing written; an event's hours or rate that no
arithmetic may touch is dead-lettered at once, naming the field, and the consumer goes on."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import grpc
import pytest
from google.type import money_pb2

from mesh.events.deadletters import DeadLetter, list_dead_letters
from mesh.grpc.convert import date_to_proto
from tests.conftest import Stack
from tests.support import eventually, rpc_error
from tests.unit.billing_fakes import Billing, rated, running_billing
from weftwork.billing.v1 import billing_service_pb2 as pb

D = dt.date
HOSTILE_AMOUNTS = {
    "nanos over a unit": (money_pb2.Money(currency_code="GBP", units=1, nanos=10**9), "nanos"),
    "signs that disagree": (money_pb2.Money(currency_code="GBP", units=-1, nanos=5), "nanos"),
    "sixteen digits": (money_pb2.Money(currency_code="GBP", units=10**15), ""),
    "int64 units": (money_pb2.Money(currency_code="GBP", units=2**63 - 1), ""),
    "a tenth of a penny": (money_pb2.Money(currency_code="GBP", units=1, nanos=10**6), ""),
}
HOSTILE_DECIMALS = ["NaN", "sNaN", "Infinity", "1E+999999999", "1e400", "1.1234567"]


@pytest.fixture(scope="module")
async def billing(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Billing]:
    async with running_billing(
        stack.database_url, module_nats, tmp_path_factory.mktemp("billing")
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def invoice(billing: Billing) -> pb.Invoice:
    engagement = await billing.producers.activate(currency="GBP", country="GB")
    await billing.producers.approve_time(
        engagement, [rated("10", "10.00", D(2025, 5, 1), currency="GBP")]
    )
    await billing.unbilled(engagement, 1)
    return await billing.issue(await billing.draft(engagement, D(2025, 5, 31)), D(2025, 6, 1))


@pytest.mark.parametrize(("amount", "part"), HOSTILE_AMOUNTS.values(), ids=list(HOSTILE_AMOUNTS))
async def test_a_hostile_payment_amount_is_refused_naming_its_field(
    billing: Billing, invoice: pb.Invoice, amount: money_pb2.Money, part: str
) -> None:
    before = await billing.rows()
    request = pb.RecordPaymentRequest(
        invoice_id=invoice.id,
        amount=amount,
        received_on=date_to_proto(D(2025, 6, 2)),
        reference="hostile",
        idempotency_key="hostile",
    )
    code, message, violations = await asyncio.wait_for(
        rpc_error(billing.stub.RecordPayment(request)), timeout=10
    )
    field = f"amount.{part}" if part else "amount"
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, [field]), (
        message
    )
    assert await billing.rows() == before
    answer = await asyncio.wait_for(
        billing.stub.GetInvoice(pb.GetInvoiceRequest(id=invoice.id)), timeout=2
    )
    assert answer.invoice.balance == invoice.balance


@pytest.mark.parametrize("value", HOSTILE_DECIMALS)
async def test_an_event_with_hostile_hours_is_dead_lettered_naming_the_field(
    billing: Billing, value: str
) -> None:
    engagement = await billing.producers.activate(currency="GBP", country="GB")
    hostile = rated("1", "10.00", D(2025, 7, 1), currency="GBP")
    hostile.hours = value
    await billing.producers.approve_time(engagement, [hostile])

    def of_engagement(letters: list[DeadLetter]) -> list[DeadLetter]:
        return [d for d in letters if d.headers.get("ce-subject") == engagement.id]

    found = await eventually(
        lambda: list_dead_letters(billing.db, consumer="billing-project"),
        until=lambda letters: bool(of_engagement(letters)),
        what="the hostile approval dead-lettered",
    )
    [letter] = of_engagement(found)
    assert "entries[0].hours" in letter.error
    assert letter.deliveries == 1  # no retry can fix it
    # The consumer goes on: the engagement's next approval is billed.
    await billing.producers.approve_time(
        engagement, [rated("2", "10.00", D(2025, 7, 2), currency="GBP")]
    )
    unbilled = await billing.unbilled(engagement, 1)
    assert [i.quantity for i in unbilled.items] == ["2"]
