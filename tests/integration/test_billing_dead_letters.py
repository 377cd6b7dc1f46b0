"""Events billing cannot apply are never lost: retried, then dead-lettered with their reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from mesh.events.deadletters import list_dead_letters, replay
from tests.conftest import Stack
from tests.support import eventually
from tests.unit.billing_fakes import ACTIVATED, Billing, rated, running_billing

D = dt.date


@pytest.fixture(scope="module")
async def billing(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Billing]:
    # Two deliveries (a short backoff: 0.5 s at most), so giving up takes a second, not minutes.
    async with running_billing(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("billing"),
        WEFTWORK_MAX_DELIVER="2",
    ) as running:
        yield running


async def test_an_approval_for_an_engagement_never_activated_is_dead_lettered_then_replayed(
    billing: Billing,
) -> None:
    producers = billing.producers
    engagement, activation = producers.activation()
    entry = rated("3", "90.00", D(2025, 7, 1), currency="GBP")
    await producers.approve_time(engagement, [entry])

    [letter] = await eventually(
        lambda: list_dead_letters(billing.db, consumer="billing-project"), what="a dead letter"
    )

    assert letter.deliveries == 2
    assert f"engagement {engagement.id} not activated in billing yet" in letter.error
    assert letter.subject == "weftwork.project.time_entry.approved.v1"
    assert await billing.db.fetchval("SELECT count(*) FROM billable_items") == 0

    # Once the activation arrives, an operator replays the letter: billed exactly once.
    await producers.publish(ACTIVATED, engagement.id, 1, activation)
    await billing.settled()
    assert await replay(billing.db, [letter.id]) == 1
    unbilled = await billing.unbilled(engagement, 1)
    assert [i.source_id for i in unbilled.items] == [entry.time_entry_id]
    [replayed] = await eventually(
        lambda: list_dead_letters(billing.db, consumer="billing-project", status="replayed"),
        what="the letter marked replayed",
    )
    assert replayed.id == letter.id


async def test_an_expense_in_another_currency_is_dead_lettered_at_once_with_its_reason(
    billing: Billing,
) -> None:
    engagement = await billing.producers.activate(currency="GBP")
    engagement.currency = "EUR"  # the producer gets it wrong
    expense_id = await billing.producers.approve_expense(engagement, "10.00", D(2025, 7, 2))

    letters = await eventually(
        lambda: list_dead_letters(billing.db, consumer="billing-project"),
        until=lambda found: any(expense_id in letter.error for letter in found),
        what="the poison expense dead-lettered",
    )

    [letter] = [found for found in letters if expense_id in found.error]
    assert letter.deliveries == 1  # no retry can fix it
    assert "is in EUR but engagement" in letter.error
    assert "bills in GBP" in letter.error
