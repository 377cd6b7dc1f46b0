"""The journal export over the real revenue store (PostgreSQL): for random histories of
engagements, postings, voids, payments and closes, every closed period's export balances per
currency and equals the trial balance's movement in that period, and all periods together
equal the trial balance (DESIGN.md §9, issue #18)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesh.db import create_pool, in_transaction
from mesh.migrations import migrate, service_components
from mesh.settings import with_database
from services.revenue import handlers
from services.revenue.domain.accounts import Account, ChartOfAccounts
from services.revenue.domain.export import JournalExport
from services.revenue.domain.periods import Period
from services.revenue.store import RevenueStore
from tests.conftest import Stack
from tests.integration.test_revenue_replay import deliver
from tests.unit.revenue_fakes import NOW, random_history

REVENUE_DIR = Path(__file__).resolve().parents[2] / "services" / "revenue"
CHART = ChartOfAccounts.default()
# UK01's ERP codes for two accounts; the others keep the chart's code.
ACCOUNTS = {"UK01": {"revenue": "4010-UK", "tax_payable": "2201"}, "US01": {}}
PERIODS = [Period(2024, 12)] + [Period(2025, m) for m in range(1, 8)]
Movement = dict[tuple[str, Account], Decimal]


@pytest.fixture(scope="module")
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    name = f"t_export_{uuid.uuid4().hex[:12]}"
    made = await create_pool(with_database(stack.database_url, name), max_size=4)
    async with made.acquire() as conn:
        await migrate(conn, service_components("revenue", REVENUE_DIR))
    yield made
    await made.close()
    admin = await asyncpg.connect(stack.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def empty(pool: asyncpg.Pool) -> None:
    """Every table but the migrations' and the append-only audit trail's: each example starts
    from empty books."""
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('schema_migrations', 'audit_log')"
        )
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await conn.execute(f"TRUNCATE {names}")


async def export(pool: asyncpg.Pool, entity: str, period: Period) -> JournalExport:
    async with pool.acquire() as conn:
        return await handlers.export_journal(
            RevenueStore(conn), entity, period, chart=CHART, accounts=ACCOUNTS[entity]
        )


async def balances(pool: asyncpg.Pool, entity: str, as_of: dt.date) -> Movement:
    async with pool.acquire() as conn:
        books = await handlers.trial_balance(RevenueStore(conn), entity, as_of)
    return {(b.currency, a.account): a.balance.amount for b in books for a in b.accounts}


def moved(x: JournalExport) -> Movement:
    found: Movement = defaultdict(Decimal)
    for line in x.lines:
        found[line.currency, line.account] += line.debit.amount - line.credit.amount
    return found


def minus(a: Movement, b: Movement) -> Movement:
    keys = set(a) | set(b)
    return {k: a.get(k, Decimal(0)) - b.get(k, Decimal(0)) for k in keys}


def nonzero(m: Movement) -> Movement:
    return {k: v for k, v in m.items() if v}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
async def test_a_closed_periods_export_balances_and_equals_the_trial_balance(
    pool: asyncpg.Pool, seed: int
) -> None:
    await empty(pool)
    engagements, steps = random_history(random.Random(seed))
    await deliver(pool, steps)
    entities = sorted({e.entity for e in engagements})
    for entity in entities:  # close everything the history touched, in order
        for period in PERIODS[1:7]:
            await in_transaction(
                pool,
                lambda conn, e=entity, p=period: handlers.close_period(  # type: ignore[misc]
                    RevenueStore(conn), e, p, now=NOW
                ),
            )
    for entity in entities:
        cumulative: Movement = defaultdict(Decimal)
        for period in PERIODS:
            found = await export(pool, entity, period)
            assert found.provisional is (period > Period(2025, 6))
            for currency in {line.currency for line in found.lines}:
                assert found.net(currency).amount == 0  # balanced per currency
            for line in found.lines:
                assert (line.debit.amount > 0) != (line.credit.amount > 0)  # one side, net
                assert (
                    line.journal_id == f"{entity}-{period.year}{period.month:02d}-{line.currency}"
                )
                mapped = ACCOUNTS[entity].get(line.account.value)
                assert line.account_code == (mapped or CHART.code(line.account))
            keys = [(x.currency, x.engagement_id, x.account) for x in found.lines]
            assert len(keys) == len(set(keys))  # one line per currency, engagement, account
            before = await balances(pool, entity, period.first_day - dt.timedelta(days=1))
            after = await balances(pool, entity, period.last_day)
            assert nonzero(moved(found)) == nonzero(minus(after, before))
            for key, amount in moved(found).items():
                cumulative[key] += amount
        # Every posting lands in one of these periods: together they are the trial balance.
        assert nonzero(cumulative) == nonzero(await balances(pool, entity, PERIODS[-1].last_day))
