"""The set-up the deals-change modules share (issue #17): all four services on real gRPC,
PostgreSQL and JetStream behind an in-process gateway, GraphQL helpers, and the replay of a
stream into empty databases with the books compared."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from gateway.app import create_app
from mesh.db import create_pool, in_transaction
from mesh.events.handlers import EventHandlers
from mesh.events.inbox import apply_once
from mesh.migrations import migrate, service_components
from mesh.settings import Settings, with_database
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

SECRET = "approval-secret-approval-secret-approval"
CLOSE_WON = """mutation($input: OpportunityWonInput!) {
  closeWonOpportunity(input: $input) { engagement { id status setup { project billing revenue } } }
}"""
SUBMIT = """mutation($e: [TimeEntryInput!]!) { submitTime(entries: $e) { id status } }"""
APPROVE_TIME = """mutation($ids: [ID!]!) { approveTime(ids: $ids) { id billAmount { amount } } }"""
PERSON = """mutation($p: PersonInput!) { upsertPerson(input: $p) { id } }"""
RECOGNIZED = """query($id: ID!) { engagement(id: $id) { revenue { recognized { amount } } } }"""
ADJUST = """mutation($id: ID!, $h: Decimal!, $r: String!, $k: String) {
  adjustTime(id: $id, hours: $h, reason: $r, idempotencyKey: $k) {
    changed
    original { id hours status billAmount { amount } }
    reversal { id hours billAmount { amount } correctsTimeEntryId correctionReason }
    replacement { id hours billAmount { amount } correctsTimeEntryId }
  }
}"""


def bearer(*roles: str, subject: str = "e2e") -> dict[str, str]:
    token = issue_token(SECRET, subject=subject, roles=list(roles), entities=["*"])
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Deals:
    client: httpx.AsyncClient  # the gateway, in-process
    settings: Settings  # the services' databases and NATS


@contextlib.asynccontextmanager
async def running_deals(
    stack: Stack, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deals]:
    """Customer, project, billing and revenue, and the gateway; DE01 requires approval."""
    settings, _ = settings_for(
        stack.database_url,
        nats_url,
        tmp_path_factory.mktemp("deals"),
        WEFTWORK_JWT_SECRET=SECRET,
        WEFTWORK_LEGAL_ENTITIES=legal_entities_json(DE01=True),
    )
    async with contextlib.AsyncExitStack() as services:
        for spec in (CUSTOMER, PROJECT, BILLING, REVENUE):
            port, _ = await services.enter_async_context(serving(spec, settings))
            settings = with_grpc_ports(settings, **{spec.name: port})
        app = create_app(as_nats_user(settings, "gateway"))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway", timeout=30
            ) as client:
                yield Deals(client, settings)
        finally:
            await app.state.clients.close()


async def run(
    client: httpx.AsyncClient,
    query: str,
    roles: tuple[str, ...] = ("admin",),
    *,
    subject: str = "e2e",
    **variables: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=bearer(*roles, subject=subject),
    )
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def recognized(gql: httpx.AsyncClient, engagement_id: str, amount: str) -> None:
    def shows(body: dict[str, Any]) -> bool:
        revenue = body["data"]["engagement"]["revenue"]
        return revenue is not None and revenue["recognized"]["amount"] == amount

    await eventually(
        lambda: run(gql, RECOGNIZED, id=engagement_id), until=shows, within=30,
        what=f"revenue to show {amount} recognized",
    )  # fmt: skip


BILLING_DIR = Path(__file__).resolve().parents[2] / "services" / "billing"
REVENUE_DIR = Path(__file__).resolve().parents[2] / "services" / "revenue"


async def whole_stream(nats_url: str, name: str) -> list[Any]:
    """Every message of a stream, in stream order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(name)).state.last_seq
        sub = await js.subscribe(f"weftwork.{name.lower()}.>", ordered_consumer=True)
        found: list[Any] = []
        while last and (not found or found[-1].metadata.sequence.stream < last):
            found.append(await sub.next_msg(timeout=5))
        return found
    finally:
        await nc.close()


async def replayed(
    stack: Stack, service: str, table: EventHandlers, messages: list[Any], made: list[str]
) -> str:
    """A new, migrated database of `service` with `messages` applied as its consumers would."""
    name = f"t_replay_{service}_{uuid.uuid4().hex[:10]}"
    made.append(name)
    url = with_database(stack.database_url, name)
    pool = await create_pool(url, max_size=2)
    try:
        async with pool.acquire() as conn:
            directory = BILLING_DIR if service == "billing" else REVENUE_DIR
            await migrate(conn, service_components(service, directory))
        for m in messages:
            if table.get(m.subject) is None:
                continue  # a subject this service does not consume
            await in_transaction(
                pool,
                lambda conn, m=m: apply_once(  # type: ignore[misc]
                    conn, consumer="replay", handlers=table, subject=m.subject,
                    headers=dict(m.headers), payload=m.data,
                ),
            )  # fmt: skip
    finally:
        await pool.close()
    return url


async def drop_databases(stack: Stack, made: list[str]) -> None:
    admin = await asyncpg.connect(stack.database_url)
    try:
        for name in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def billing_books(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Billable items, and each engagement's replica of its milestone schedule."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT engagement_id, kind, source_id, service_date, description, quantity,"
            " unit_price, amount, currency FROM billable_items ORDER BY kind, source_id"
        )
        schedules = await conn.fetch("SELECT id, milestones, version FROM engagements ORDER BY id")
    finally:
        await conn.close()
    return [tuple(r) for r in rows], [tuple(r) for r in schedules]


async def revenue_books(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Contract balances and terms, and each engagement's net per account (the order the two
    streams interleave in may split a posting differently between unbilled and deferred on the
    way, never where the accounts end)."""
    conn = await asyncpg.connect(url)
    try:
        contracts = await conn.fetch(
            "SELECT engagement_id, recognized, recognized_fee, billed, cost, unbilled_receivable,"
            " deferred_revenue, approved_hours, completed_on, contract_value, budget_hours,"
            " terms_version FROM contracts ORDER BY engagement_id"
        )
        nets = await conn.fetch(
            "SELECT e.engagement_id, l.account, sum(l.debit) - sum(l.credit) AS net"
            " FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id"
            " GROUP BY e.engagement_id, l.account ORDER BY e.engagement_id, l.account"
        )
    finally:
        await conn.close()
    return [tuple(r) for r in contracts], [tuple(r) for r in nets]


async def unbalanced_entries(url: str, engagement_id: str) -> list[tuple[Any, ...]]:
    """Journal entries of an engagement whose debits and credits differ (none, ever)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT e.id, sum(l.debit), sum(l.credit) FROM journal_entries e"
            " JOIN journal_lines l ON l.entry_id = e.id WHERE e.engagement_id = $1"
            " GROUP BY e.id HAVING sum(l.debit) <> sum(l.credit)",
            uuid.UUID(engagement_id),
        )
    finally:
        await conn.close()
    return [tuple(r) for r in rows]


async def recognitions(url: str, engagement_id: str) -> list[Decimal]:
    """Each recognition posting's revenue (credit - debit on revenue), in posting order."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT sum(l.credit) - sum(l.debit) AS revenue FROM journal_entries e"
            " JOIN journal_lines l ON l.entry_id = e.id AND l.account = 'revenue'"
            " WHERE e.engagement_id = $1 GROUP BY e.id, e.seq ORDER BY e.seq",
            uuid.UUID(engagement_id),
        )
    finally:
        await conn.close()
    return [r["revenue"] for r in rows]
