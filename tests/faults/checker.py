"""After a run: read every service's database (read-only) and JetStream, and count what was
lost or applied twice. Event delivery is checked here; the books in tests/faults/books.py."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import asyncpg
import nats

from mesh.audit.scope import service_actor
from mesh.events.handlers import EventHandlers
from mesh.events.streams import stream_name, stream_subjects
from mesh.settings import SERVICES, server_urls
from services.billing.consumers import customer_events_handlers as billing_customer_events
from services.billing.consumers import project_events_handlers as billing_project_events
from services.billing.store import BillingStore
from services.connect.consumers import STREAMS as CONNECT_STREAMS
from services.connect.consumers import consumer_name as connect_consumer
from services.connect.consumers import event_handlers as connect_event_handlers
from services.project.consumers import customer_events_handlers
from services.project.store import ProjectStore
from services.revenue.consumers import event_handlers
from services.revenue.store import RevenueStore
from tests.faults.cluster import Platform

MONEY_SUBJECTS = {
    "weftwork.project.time_entry.approved.v1": "time approvals",
    "weftwork.project.expense.approved.v1": "expenses",
    "weftwork.project.milestone.completed.v1": "milestones",
    "weftwork.project.engagement.completed.v1": "engagement completions",
    "weftwork.billing.invoice.issued.v1": "invoices",
    "weftwork.billing.invoice.voided.v1": "voids",
    "weftwork.billing.payment.recorded.v1": "payments",
}


@dataclass(frozen=True)
class Consumer:
    name: str  # the durable consumer and inbox name, as the service's main.py declares it
    producer: str
    service: str
    handlers: Callable[[], EventHandlers]

    def subjects(self) -> list[str]:
        return self.handlers().within([stream_subjects(self.producer)])


CONSUMERS = [
    Consumer(
        "project-customer", "customer", "project", lambda: customer_events_handlers(ProjectStore)
    ),
    Consumer("billing-project", "project", "billing", lambda: billing_project_events(BillingStore)),
    Consumer(
        "billing-customer", "customer", "billing", lambda: billing_customer_events(BillingStore)
    ),
    Consumer("revenue-project", "project", "revenue", lambda: event_handlers(RevenueStore)),
    Consumer("revenue-billing", "billing", "revenue", lambda: event_handlers(RevenueStore)),
    # Connect fans every domain's events out to webhook endpoints (tests/faults/partners.py).
    *(Consumer(connect_consumer(s), s, "connect", connect_event_handlers) for s in CONNECT_STREAMS),
]


@dataclass
class Findings:
    lost: Counter[str] = field(default_factory=Counter)  # by what was lost
    duplicated: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # what is wrong, with examples
    notes: list[str] = field(default_factory=list)  # worth telling, not wrong
    events: Counter[str] = field(default_factory=Counter)  # by subject, every outbox
    deliveries: dict[str, tuple[int, int]] = field(default_factory=dict)  # expected, applied

    def count(self, kind: Counter[str], what: str, n: int, examples: object = None) -> None:
        if n:
            kind[what] += n
            self.problems.append(f"{what}: {n}" + (f", e.g. {examples}" if examples else ""))

    @property
    def money_events(self) -> Counter[str]:
        return Counter(
            {MONEY_SUBJECTS[s]: n for s, n in self.events.items() if s in MONEY_SUBJECTS}
        )


@contextlib.asynccontextmanager
async def read_only(platform: Platform) -> AsyncIterator[dict[str, asyncpg.Connection]]:
    """One read-only connection per service database."""
    conns: dict[str, asyncpg.Connection] = {}
    try:
        for service in SERVICES:
            conns[service] = await asyncpg.connect(
                platform.database_url(service),
                server_settings={"default_transaction_read_only": "on"},
            )
        yield conns
    finally:
        for conn in conns.values():
            await conn.close()


async def check_delivery(db: dict[str, asyncpg.Connection], nats_url: str, found: Findings) -> None:
    """Every outbox event published, kept once by its stream, and applied once by each of its
    consumers (audit rows counted by event id); no dead letters."""
    outboxes: dict[str, list[asyncpg.Record]] = {}
    for service in SERVICES:
        rows = await db[service].fetch("SELECT id, subject, published_at FROM outbox")
        outboxes[service] = rows
        found.events.update(r["subject"] for r in rows)
        found.count(found.lost, "events never published", sum(not r["published_at"] for r in rows))
        twice = await db[service].fetch(
            "SELECT subject, aggregate_id, aggregate_version FROM outbox"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1"
        )
        found.count(found.duplicated, f"{service} facts emitted twice", len(twice), twice[:3])
        letters = await db[service].fetch("SELECT consumer, subject, error FROM dead_letters")
        found.count(found.lost, f"{service} dead letters", len(letters), letters[:3])
    await _check_streams(nats_url, {s: len(rows) for s, rows in outboxes.items()}, found)
    for consumer in CONSUMERS:
        subjects = set(consumer.subjects())
        expected = {r["id"] for r in outboxes[consumer.producer] if r["subject"] in subjects}
        applied = await applications(db[consumer.service], consumer.service, subjects)
        missing = expected - set(applied)
        found.count(found.lost, f"{consumer.name} events not applied", len(missing), [*missing][:3])
        doubled = [e for e, n in applied.items() if n > 1]
        found.count(found.duplicated, f"{consumer.name} events applied twice", len(doubled))
        strangers = set(applied) - expected
        if strangers:
            found.problems.append(f"{consumer.name} applied {len(strangers)} unknown events")
        found.deliveries[consumer.name] = (len(expected), len(set(applied) & expected))


async def applications(
    conn: asyncpg.Connection, service: str, subjects: set[str]
) -> Counter[object]:
    """How often the service applied each event of these subjects: its audit rows (one per
    application, mesh.events.inbox.apply_once), which, unlike inbox rows, are never pruned."""
    rows = await conn.fetch(
        "SELECT event_id, count(*) AS n FROM audit_log WHERE actor = $1 AND event_id IS NOT NULL"
        " AND operation = ANY($2::text[]) GROUP BY 1",
        service_actor(service),
        sorted(subjects),
    )
    return Counter({r["event_id"]: r["n"] for r in rows})


async def _check_streams(nats_url: str, outboxes: dict[str, int], found: Findings) -> None:
    """A stream holding fewer messages than its outbox lost acknowledged writes; more means a
    relay re-published outside the duplicate window (harmless to the inboxes, but told)."""
    # server_urls: one server, or a cluster's three (cluster mode, tests/faults/nats_cluster.py)
    client = await nats.connect(server_urls(nats_url), connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = client.jetstream()
        for service, rows in outboxes.items():
            kept = (await js.stream_info(stream_name(service))).state.messages
            found.count(
                found.lost, f"{service} events missing from the stream", max(0, rows - kept)
            )
            if kept > rows:
                found.notes.append(f"{service}: {kept - rows} extra copies in the stream")
    finally:
        await client.close()
