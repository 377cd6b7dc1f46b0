"""Setting up what a benchmark needs, over the services' own gRPC APIs (not timed)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from google.type import date_pb2, money_pb2

from bench.processes import BenchError
from bench.stack import Platform
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

ROLE = "Consultant"
HOURS = "8"  # one entry per person and day: the 24-hour day always holds


@dataclass(frozen=True)
class Firm:
    """Where a benchmark's engagements live: a legal entity, its currency and country."""

    entity: str
    currency: str
    country: str
    start: dt.date
    end: dt.date


def day(value: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


async def open_engagements(
    stub: pb_grpc.ProjectServiceStub, firm: Firm, tag: str, count: int, customers: int
) -> list[str]:
    """`count` T&M engagements from won opportunities, spread over `customers` accounts."""
    ids = []
    for n in range(count):
        answer = await stub.CreateEngagementFromOpportunity(
            pb.CreateEngagementFromOpportunityRequest(
                source="bench",
                opportunity_id=f"{tag}-{n}",
                account=pb.OpportunityAccount(
                    external_id=f"{tag}-account-{n % customers}",
                    name=f"Bench Account {tag} {n % customers}",
                    country=firm.country,
                ),
                name=f"Bench {tag} {n}",
                legal_entity=firm.entity,
                currency=firm.currency,
                billing_model=pb.BILLING_MODEL_TIME_AND_MATERIALS,
                contract_value=money_pb2.Money(currency_code=firm.currency, units=1_000_000),
                start_date=day(firm.start),
                end_date=day(firm.end),
                rate_card=[pb.RateCardLine(role=ROLE, bill_rate="187.35", cost_rate="99.99")],
            ),
            timeout=30,
        )
        ids.append(answer.engagement.id)
    return ids


async def register_people(stub: pb_grpc.ProjectServiceStub, firm: Firm, ids: Sequence[str]) -> None:
    for person in ids:
        await stub.UpsertPerson(
            pb.UpsertPersonRequest(
                person=pb.Person(id=person, name=f"Person {person}", home_entity=firm.entity)
            ),
            timeout=30,
        )


def timesheet(
    engagement_id: str, people: Sequence[str], count: int, start: dt.date
) -> list[pb.TimeEntryInput]:
    """`count` 8-hour entries: each person one per day, day after day from `start`."""
    return [
        pb.TimeEntryInput(
            engagement_id=engagement_id,
            person_id=people[i % len(people)],
            role=ROLE,
            date=day(start + dt.timedelta(days=i // len(people))),
            hours=HOURS,
            billable=True,
            description="Benchmark work",
        )
        for i in range(count)
    ]


async def submit(
    stub: pb_grpc.ProjectServiceStub, sheets: Sequence[list[pb.TimeEntryInput]], batch: int = 500
) -> tuple[list[list[str]], float]:
    """Submits each timesheet in batches (two calls in flight); its entry ids, and seconds."""
    ids: list[list[str]] = [[] for _ in sheets]
    work = [
        (n, sheet[i : i + batch])
        for n, sheet in enumerate(sheets)
        for i in range(0, len(sheet), batch)
    ]
    queue = iter(work)
    started = time.perf_counter()

    async def caller() -> None:
        for n, entries in queue:
            answer = await stub.SubmitTime(pb.SubmitTimeRequest(entries=entries), timeout=60)
            ids[n].extend(t.id for t in answer.time_entries)

    await asyncio.gather(caller(), caller())
    return ids, time.perf_counter() - started


async def fetchval(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def wait_for(
    platform: Platform,
    what: str,
    probe: Callable[[], Awaitable[bool]],
    within: float = 120.0,
    interval: float = 0.2,
) -> None:
    """Poll an async probe until it returns true; BenchError after `within` seconds."""
    deadline = time.monotonic() + within
    while not await probe():
        platform.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_set_up(platform: Platform, engagement_ids: Sequence[str]) -> None:
    """Billing and revenue have both seen every engagement activated."""
    ids = list(engagement_ids)

    async def both() -> bool:
        billing = await fetchval(
            platform.service_dsn("billing"),
            "SELECT count(*) FROM engagements WHERE id = ANY($1::uuid[])",
            ids,
        )
        revenue = await fetchval(
            platform.service_dsn("revenue"),
            "SELECT count(*) FROM contracts WHERE engagement_id = ANY($1::uuid[])",
            ids,
        )
        return bool(billing == len(ids) and revenue == len(ids))

    await wait_for(platform, "billing and revenue to set the engagements up", both)
