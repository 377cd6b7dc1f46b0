"""Retention (issue #20): after the kit prunes every published outbox row, inbox row and
idempotency key, the engagement timeline is unchanged, and replaying the streams into empty
databases still gives the books the live services hold."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from mesh.db import create_pool
from mesh.retention import Pruner
from mesh.retention_settings import RetentionSettings
from services.billing.consumers import project_events_handlers
from services.billing.store import BillingStore
from services.revenue.consumers import event_handlers as revenue_handlers
from services.revenue.store import RevenueStore
from tests.conftest import Stack
from tests.e2e.deals import (
    ADJUST,
    APPROVE_TIME,
    CLOSE_WON,
    PERSON,
    SUBMIT,
    Deals,
    billing_books,
    drop_databases,
    recognized,
    replayed,
    revenue_books,
    run,
    running_deals,
    whole_stream,
)
from tests.support import eventually

SERVICES = ("customer", "project", "billing", "revenue")
TIMELINE = """query($id: ID!) { engagement(id: $id) { timeline {
  id type source aggregateId aggregateVersion time published actor onBehalfOf } } }"""
# Every row may go once a second old; two rows per DELETE, so every table takes many batches.
EAGER = RetentionSettings(1.0, 1.0, 1.0, 300.0, 2)


@pytest.fixture(scope="module")
async def deals(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deals]:
    async with running_deals(stack, module_nats, tmp_path_factory) as running:
        yield running


async def _kept(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {
            "unpublished": await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            ),
            "outbox": await conn.fetchval("SELECT count(*) FROM outbox"),
            "inbox": await conn.fetchval("SELECT count(*) FROM inbox"),
            "idempotent_requests": await conn.fetchval("SELECT count(*) FROM idempotent_requests"),
        }
    finally:
        await conn.close()


async def _prune_everything(deals: Deals) -> dict[str, int]:
    """Each service's database pruned until no published outbox row, inbox row or key is left
    (every row must be a second old first); rows pruned, by table, over all four."""
    pruned: dict[str, int] = {}
    for service in SERVICES:
        url = deals.settings.database_url_for(service)
        pool = await create_pool(url, max_size=2)
        try:
            pruner = Pruner(pool, EAGER)

            async def left(pruner: Pruner = pruner, url: str = url) -> dict[str, int]:
                await pruner.prune_once()
                return await _kept(url)

            await eventually(
                left, until=lambda kept: not any(kept.values()), within=30,
                what=f"{service}'s rows to be pruned",
            )  # fmt: skip
            for table, rows in pruner.pruned.items():
                pruned[table] = pruned.get(table, 0) + rows
        finally:
            await pool.close()
    return pruned


async def test_pruning_keeps_the_timeline_and_replaying_the_streams_gives_the_same_books(
    deals: Deals, stack: Stack
) -> None:
    gql = deals.client
    won = await run(gql, CLOSE_WON, ("sales",), input={
        "source": "hubspot", "opportunityId": "RETAIN-1",
        "account": {"externalId": "acc-retain-1", "name": "Retain Ltd", "country": "US"},
        "name": "Retain T&M", "legalEntity": "US01", "currency": "USD",
        "billingModel": "TIME_AND_MATERIALS", "startDate": "2026-01-05", "endDate": "2026-06-30",
        "rateCard": [{"role": "consultant", "billRate": "150", "costRate": "90"}],
    })  # fmt: skip
    engagement_id = won["data"]["closeWonOpportunity"]["engagement"]["id"]
    await run(gql, PERSON, p={"id": "p-retain", "name": "Ret", "homeEntity": "US01"})
    entry = {
        "engagementId": engagement_id, "personId": "p-retain", "role": "consultant",
        "date": "2026-02-02", "hours": "8",
    }  # fmt: skip
    submitted = await run(gql, SUBMIT, ("delivery",), e=[entry, {**entry, "date": "2026-02-03"}])
    ids = [t["id"] for t in submitted["data"]["submitTime"]]
    await run(gql, APPROVE_TIME, ("delivery",), ids=ids)
    await recognized(gql, engagement_id, "2400.00")
    # A correction under an idempotency key (kept in idempotent_requests), 8 h -> 6 h.
    await run(gql, ADJUST, ("delivery",), id=ids[1], h="6", r="Shorter", k="retain-adjust-1")
    await recognized(gql, engagement_id, "2100.00")
    for service in SERVICES:
        url = deals.settings.database_url_for(service)
        await eventually(
            functools.partial(_kept, url),
            until=lambda kept: kept["unpublished"] == 0, what=f"{service}'s outbox published",
        )  # fmt: skip

    async def timeline() -> list[dict[str, Any]]:
        body = await run(gql, TIMELINE, id=engagement_id)
        events: list[dict[str, Any]] = body["data"]["engagement"]["timeline"]
        return events

    before = await timeline()
    assert len(before) >= 4 and all(e["published"] for e in before), before
    pruned = await _prune_everything(deals)
    assert pruned["outbox"] > 0 and pruned["inbox"] > 0, pruned
    assert await timeline() == before

    project_messages = await whole_stream(deals.settings.nats_url, "PROJECT")
    billing_messages = await whole_stream(deals.settings.nats_url, "BILLING")
    made: list[str] = []
    try:
        billing_copy = await replayed(
            stack, "billing", project_events_handlers(BillingStore), project_messages, made
        )
        both = [*project_messages, *billing_messages]
        revenue_copy = await replayed(stack, "revenue", revenue_handlers(RevenueStore), both, made)
        live_billing = await billing_books(deals.settings.database_url_for("billing"))
        assert live_billing[0], "billable items to compare"
        assert await billing_books(billing_copy) == live_billing
        assert await revenue_books(revenue_copy) == await revenue_books(
            deals.settings.database_url_for("revenue")
        )
    finally:
        await drop_databases(stack, made)
