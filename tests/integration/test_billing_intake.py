"""Billing's consumers over real NATS JetStream and PostgreSQL: duplicates, order, replicas."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from mesh.events.cloudevents import event_headers
from mesh.events.deadletters import list_dead_letters
from tests.conftest import Stack
from tests.support import eventually
from tests.unit.billing_fakes import (
    ACTIVATED,
    TIME_APPROVED,
    Billing,
    amount,
    rated,
    running_billing,
)
from weftwork.project.v1.events_pb2 import PurchaseOrderNumberSet

D = dt.date
PO_SET = "weftwork.project.engagement.purchase_order_set.v1"


@pytest.fixture(scope="module")
async def billing(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Billing]:
    async with running_billing(
        stack.database_url, module_nats, tmp_path_factory.mktemp("billing")
    ) as running:
        yield running


async def test_the_same_approved_time_event_delivered_three_times_yields_one_set_of_items(
    billing: Billing,
) -> None:
    producers = billing.producers
    engagement = await producers.activate()
    entries = [rated("6", "110.00", D(2025, 7, d), currency="GBP") for d in (1, 2)]
    approval = producers.time_approval(engagement, entries)
    first = await producers.publish(TIME_APPROVED, engagement.id, approval.version, approval)
    # The same event again past JetStream's dedup (a relay re-publishing after its window) ...
    headers = event_headers(
        event_id=first,
        service="project",
        subject=TIME_APPROVED,
        aggregate_id=engagement.id,
        aggregate_version=approval.version,
    )
    headers["Nats-Msg-Id"] = f"{first}-again"
    await producers.js.publish(TIME_APPROVED, approval.SerializeToString(), headers=headers)
    # ... and as a new event (a producer that emitted it twice).
    third = await producers.publish(TIME_APPROVED, engagement.id, approval.version, approval)
    await billing.settled()

    unbilled = await billing.unbilled(engagement, 2)
    assert sorted(i.source_id for i in unbilled.items) == sorted(e.time_entry_id for e in entries)
    items = await billing.db.fetchval(
        "SELECT count(*) FROM billable_items WHERE engagement_id = $1", uuid.UUID(engagement.id)
    )
    assert items == 2
    applied = await billing.db.fetch(
        "SELECT event_id FROM inbox WHERE consumer = 'billing-project' AND event_id = ANY($1)",
        [first, third],
    )
    assert {row["event_id"] for row in applied} == {first, third}  # the second copy: skipped
    [draft] = await billing.run(D(2025, 7, 31), engagement)
    assert amount(draft.subtotal) == Decimal("1320.00")


async def test_an_activation_arriving_after_the_approval_is_billed_once(billing: Billing) -> None:
    producers = billing.producers
    engagement, activation = producers.activation()
    entry = rated("5", "100.00", D(2025, 7, 7), currency="GBP")
    await producers.approve_time(engagement, [entry])

    async def retried() -> int:
        info = await producers.js.consumer_info("PROJECT", "billing-project")
        return int(info.num_redelivered)

    await eventually(retried, what="the approval to be retried while billing waits")
    await producers.publish(ACTIVATED, engagement.id, 1, activation)

    unbilled = await billing.unbilled(engagement, 1)
    assert [i.source_id for i in unbilled.items] == [entry.time_entry_id]
    await billing.settled()
    [draft] = await billing.run(D(2025, 7, 31), engagement)
    assert [line.source_ids[0] for line in draft.lines] == [entry.time_entry_id]
    assert await list_dead_letters(billing.db, consumer="billing-project") == []


async def test_a_newer_activation_wins_whatever_the_order(billing: Billing) -> None:
    producers = billing.producers
    engagement, newer = producers.activation(terms=60)
    _, older = producers.activation(terms=14)
    older.engagement_id = older.engagement.id = engagement.id
    newer.version = newer.engagement.version = 3
    await producers.publish(ACTIVATED, engagement.id, 3, newer)
    await producers.publish(ACTIVATED, engagement.id, 1, older)
    await producers.approve_time(engagement, [rated("1", "10.00", D(2025, 7, 1), currency="GBP")])
    await billing.unbilled(engagement, 1)
    await billing.settled()

    issued = await billing.issue(await billing.draft(engagement, D(2025, 7, 31)), D(2025, 8, 1))

    assert (issued.due_date.month, issued.due_date.day) == (9, 30)  # 60 days, not 14


async def test_invoices_follow_customer_updates_and_merges(billing: Billing) -> None:
    producers = billing.producers
    first = await producers.activate(entity="UK01", country="GB")
    customer = first.customer_id
    await producers.update_customer(customer, 3, name="Moved SAS", country="FR")
    await producers.update_customer(customer, 2, name="Stale Ltd", country="GB")  # older: ignored
    await billing.settled("CUSTOMER")
    await producers.approve_time(first, [rated("1", "100.00", D(2025, 7, 1), currency="GBP")])
    await billing.unbilled(first, 1)

    abroad = await billing.issue(await billing.draft(first, D(2025, 7, 31)), D(2025, 8, 1))

    assert (abroad.tax_rate, abroad.tax_note.startswith("Reverse charge")) == ("0", True)

    survivor = str(uuid.uuid4())
    await producers.merge_customers(survivor, customer, 7, name="Home Group PLC", country="GB")
    # An engagement activated later with the merged customer's id bills the survivor too.
    second = await producers.activate(entity="UK01", country="FR", customer_id=customer)
    await billing.settled("CUSTOMER")
    await producers.approve_time(first, [rated("1", "100.00", D(2025, 8, 1), currency="GBP")])
    await producers.approve_time(second, [rated("1", "100.00", D(2025, 8, 1), currency="GBP")])
    await billing.unbilled(first, 1)
    await billing.unbilled(second, 1)

    for engagement in (first, second):
        home = await billing.issue(await billing.draft(engagement, D(2025, 8, 31)), D(2025, 9, 1))
        assert (home.customer_id, home.tax_rate, home.tax_note) == (survivor, "20", "")
    # An issued invoice keeps the customer it was issued to.
    assert (await billing.invoice(abroad.id)).customer_id == customer


async def test_an_invoice_keeps_the_po_current_when_it_was_issued(billing: Billing) -> None:
    producers = billing.producers
    engagement = await producers.activate(terms=30)
    await producers.approve_time(engagement, [rated("2", "100.00", D(2025, 9, 1), currency="GBP")])

    async def set_po(number: str, version: int) -> None:
        message = PurchaseOrderNumberSet(
            engagement_id=engagement.id, version=version, purchase_order_number=number
        )
        await producers.publish(PO_SET, engagement.id, version, message)

    late = engagement.version  # the approval's version: older than the next change
    await set_po("PO-NEW", engagement.bump())
    await set_po("PO-OLD", late)  # arrives late: ignored
    await billing.settled()
    draft = await billing.draft(engagement, D(2025, 9, 30))
    assert draft.purchase_order_number == ""  # fixed at issue, not before
    issued = await billing.issue(draft, D(2025, 10, 1))
    assert issued.purchase_order_number == "PO-NEW"
    await set_po("PO-LATER", engagement.bump())
    await billing.settled()
    assert (await billing.invoice(issued.id)).purchase_order_number == "PO-NEW"
