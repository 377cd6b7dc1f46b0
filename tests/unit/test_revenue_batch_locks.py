"""A consumer batch locks its engagements up front, once each and in id order (finding 1)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from mesh.events.handlers import Delivery
from services.revenue.consumers import event_handlers
from services.revenue.convert import events as incoming
from services.revenue.domain.facts import BillingModel
from services.revenue.store import RevenueStore
from tests.unit.revenue_fakes import Engagement
from weftwork.project.v1 import events_pb2 as project

DAY = dt.date(2025, 2, 3)


class _RecordingConnection:
    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append((sql, args))
        return "SELECT 1"


def _delivery(subject: str, message: Any) -> Delivery:
    return Delivery(subject, {}, message.SerializeToString())


async def test_a_batch_locks_each_of_its_engagements_once_in_id_order() -> None:
    a, b, c = (Engagement(BillingModel.TIME_AND_MATERIALS) for _ in range(3))
    batch = [
        _delivery(*c.time(("t1", DAY, "1", "100", "50", True))),
        _delivery(*a.activated()),
        _delivery(*b.issued(uuid.uuid4(), DAY, "100.00")),
        _delivery(*c.time(("t2", DAY, "1", "100", "50", True))),
        Delivery("weftwork.project.time_entry.approved.v1", {}, b"\xff not protobuf"),
        Delivery("weftwork.project.unknown.v1", {}, b""),
    ]
    conn = _RecordingConnection()
    await event_handlers(RevenueStore).prepare_batch(conn, batch)
    [(sql, (ids,))] = conn.statements
    assert "pg_advisory_xact_lock" in sql
    assert ids == sorted([a.id, b.id, c.id])


def test_the_engagement_of_every_subject_revenue_consumes_is_read() -> None:
    e = Engagement(BillingModel.MILESTONE)
    messages = [
        e.activated(),
        e.time(("t1", DAY, "1", "100", "50", True)),
        e.adjusted(("t1", DAY, "1", "100", "50", True), "t1-r", "t1-n", "2"),
        e.amended(2, DAY, "200.00", "0"),
        e.expense("x1", DAY, "10.00"),
        e.milestone("m1", DAY, "100.00"),
        e.completed(DAY),
        e.issued(uuid.uuid4(), DAY, "100.00"),
        e.voided(uuid.uuid4(), DAY, "100.00"),
        e.paid(uuid.uuid4(), "p1", DAY, "100.00"),
    ]
    assert {subject for subject, _ in messages} == set(event_handlers(RevenueStore).subjects)
    for subject, message in messages:
        assert incoming.engagement_of(subject, message.SerializeToString()) == e.id, subject


def test_an_unreadable_event_has_no_engagement() -> None:
    time = "weftwork.project.time_entry.approved.v1"
    assert incoming.engagement_of(time, b"\xff not protobuf") is None
    assert incoming.engagement_of("weftwork.project.unknown.v1", b"") is None
    broken = project.TimeEntriesApproved(engagement_id="not-a-uuid")
    assert incoming.engagement_of(time, broken.SerializeToString()) is None
