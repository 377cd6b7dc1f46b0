"""The event pipeline: approved time → billable items (billing) and revenue postings (revenue).

What is measured comes from the databases, not from the client: PostgreSQL runs with
`track_commit_timestamp`, and `pg_xact_commit_timestamp(xmin)` of a row is the commit time of
the transaction that last wrote it. Per time entry:
- approved: the commit of the ApproveTime transaction (its `time_entries` row, in project);
- published: the commit of the relay transaction that marked its event published, after
  JetStream acknowledged it (the `outbox` row, which the relay updates);
- billed: the commit of billing's consumer batch that inserted its `billable_items` row;
- recognized: the commit of revenue's consumer batch that inserted its `applied_facts` row
  (written in the same statement as the journal entry that recognizes it).
One clock (the one PostgreSQL server) stamps all three, so differences are exact.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

import asyncpg

from bench import seed
from bench.stack import Platform
from bench.stats import latencies_ms
from weftwork.project.v1 import events_pb2
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

APPROVED_EVENT = "weftwork.project.time_entry.approved.v1"

FIRM = seed.Firm("UK01", "GBP", "GB", dt.date(2020, 1, 1), dt.date(2030, 12, 31))
ENGAGEMENTS = 8  # approvals round-robin over them, so concurrent calls rarely share a lock
PEOPLE_PER_ENGAGEMENT = 25
CALLERS = 4  # ApproveTime calls in flight at full speed
MAX_IN_FLIGHT = 64  # at a fixed rate: a bound on open calls should the service fall behind


@dataclass(frozen=True)
class Workload:
    name: str
    engagements: list[str]
    batches: list[list[str]]  # ApproveTime calls, in the order they are made

    @property
    def entries(self) -> int:
        return sum(len(b) for b in self.batches)


async def prepare(
    platform: Platform, stub: pb_grpc.ProjectServiceStub, name: str, entries: int, batch: int
) -> tuple[Workload, float]:
    """Engagements, people and `entries` submitted entries; the workload, and submit seconds."""
    engagements = await seed.open_engagements(stub, FIRM, f"pipeline-{name}", ENGAGEMENTS, 4)
    sheets = []
    for n, engagement in enumerate(engagements):
        people = [f"pipeline-{name}-{n}-{p}" for p in range(PEOPLE_PER_ENGAGEMENT)]
        await seed.register_people(stub, FIRM, people)
        count = entries // ENGAGEMENTS + (1 if n < entries % ENGAGEMENTS else 0)
        sheets.append(seed.timesheet(engagement, people, count, FIRM.start))
    ids, seconds = await seed.submit(stub, sheets)
    await seed.wait_set_up(platform, engagements)
    # Round-robin over engagements: consecutive calls lock different engagement rows.
    per_engagement = [[e[i : i + batch] for i in range(0, len(e), batch)] for e in ids]
    batches = [b for row in zip_longest(*per_engagement) for b in row if b]
    return Workload(name, engagements, batches), seconds


async def approve_full_speed(stub: pb_grpc.ProjectServiceStub, workload: Workload) -> float:
    """CALLERS calls in flight until every batch is approved; returns the seconds taken."""
    queue = iter(workload.batches)
    started = time.perf_counter()

    async def caller() -> None:
        for ids in queue:
            await stub.ApproveTime(pb.ApproveTimeRequest(ids=ids), timeout=60)

    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    return time.perf_counter() - started


async def approve_at_rate(
    stub: pb_grpc.ProjectServiceStub, workload: Workload, rate: float
) -> tuple[float, int]:
    """Open loop: each call starts when its entries are due at `rate` entries/s, whether the
    earlier ones have answered or not. Returns the seconds taken and calls started late."""
    loop = asyncio.get_running_loop()
    in_flight: set[asyncio.Task[Any]] = set()
    started, sent, late = loop.time(), 0, 0
    for ids in workload.batches:
        wait = started + sent / rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.05:
            late += 1
        while len(in_flight) >= MAX_IN_FLIGHT:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(_approve(stub, ids))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        sent += len(ids)
    await asyncio.gather(*in_flight)
    return loop.time() - started, late


async def _approve(stub: pb_grpc.ProjectServiceStub, ids: list[str]) -> None:
    await stub.ApproveTime(pb.ApproveTimeRequest(ids=ids), timeout=60)


async def _published_times(dsn: str, ids: list[str]) -> dict[str, float]:
    """Per time entry, the commit of the relay's mark of the event that carried it."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(PUBLISHED, ids)
    finally:
        await conn.close()
    times: dict[str, float] = {}
    for row in rows:
        event = events_pb2.TimeEntriesApproved.FromString(row[0])
        times.update((e.time_entry_id, row[1].timestamp()) for e in event.entries)
    return times


async def _commit_times(dsn: str, sql: str, ids: list[str]) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(sql, ids)
    finally:
        await conn.close()
    return {str(r[0]): r[1].timestamp() for r in rows}


APPROVED = """SELECT id, pg_xact_commit_timestamp(xmin) FROM time_entries
               WHERE engagement_id = ANY($1::uuid[]) AND status = 'APPROVED'"""
PUBLISHED = """SELECT payload, pg_xact_commit_timestamp(xmin) FROM outbox
                WHERE engagement_id = ANY($1::text[]) AND published_at IS NOT NULL
                  AND subject = 'weftwork.project.time_entry.approved.v1'"""
BILLED = """SELECT source_id, pg_xact_commit_timestamp(xmin) FROM billable_items
             WHERE engagement_id = ANY($1::uuid[]) AND kind = 'TIME'"""
RECOGNIZED = """SELECT substr(key, 6), pg_xact_commit_timestamp(xmin) FROM applied_facts
                 WHERE engagement_id = ANY($1::uuid[]) AND key LIKE 'time:%'"""


async def wait_through(platform: Platform, workload: Workload, within: float) -> None:
    """Until billing and revenue both hold every entry of the workload."""
    ids = workload.engagements

    async def through() -> bool:
        billed = await seed.fetchval(
            platform.service_dsn("billing"),
            "SELECT count(*) FROM billable_items WHERE engagement_id = ANY($1::uuid[])",
            ids,
        )
        recognized = await seed.fetchval(
            platform.service_dsn("revenue"),
            "SELECT count(*) FROM applied_facts WHERE engagement_id = ANY($1::uuid[])",
            ids,
        )
        return bool(billed >= workload.entries and recognized >= workload.entries)

    await seed.wait_for(platform, f"the {workload.name} pipeline to finish", through, within, 0.5)


async def event_bytes(platform: Platform, workload: Workload) -> int:
    """The average size of one approval event of the workload (payload and headers), bytes."""
    size = await seed.fetchval(
        platform.service_dsn("project"),
        "SELECT avg(length(payload) + length(headers::text))::int FROM outbox"
        " WHERE subject = $1 AND engagement_id = ANY($2::text[])",
        APPROVED_EVENT,
        workload.engagements,
    )
    return int(size)


async def measure(platform: Platform, workload: Workload) -> dict[str, Any]:
    """Throughputs and latencies of a finished workload, from commit timestamps."""
    ids = workload.engagements
    approved = await _commit_times(platform.service_dsn("project"), APPROVED, ids)
    published = await _published_times(platform.service_dsn("project"), ids)
    billed = await _commit_times(platform.service_dsn("billing"), BILLED, ids)
    recognized = await _commit_times(platform.service_dsn("revenue"), RECOGNIZED, ids)
    complete = [e for e in approved if e in billed and e in recognized]
    first = min(approved.values())
    done = {e: max(billed[e], recognized[e]) for e in complete}
    span = max(done.values()) - first
    return {
        "entries": workload.entries,
        "entries_through": len(complete),
        "approve_calls": len(workload.batches),
        "approve_rate": len(approved) / max(max(approved.values()) - first, 1e-9),
        "throughput": len(complete) / span,
        "billing_throughput": len(billed) / (max(billed.values()) - first),
        "revenue_throughput": len(recognized) / (max(recognized.values()) - first),
        "seconds": span,
        "to_published_ms": latencies_ms([published[e] - approved[e] for e in complete]),
        "to_billing_ms": latencies_ms([billed[e] - approved[e] for e in complete]),
        "to_revenue_ms": latencies_ms([recognized[e] - approved[e] for e in complete]),
        "end_to_end_ms": latencies_ms([done[e] - approved[e] for e in complete]),
        "dead_letters": await _dead_letters(platform),
    }


async def _dead_letters(platform: Platform) -> int:
    total = 0
    for service in ("billing", "revenue"):
        total += await seed.fetchval(
            platform.service_dsn(service), "SELECT count(*) FROM dead_letters"
        )
    return int(total)
