"""Time submission and approval through the project service, against a plain COPY ceiling.

    .venv/bin/python -m bench.project_time

Starts embedded PostgreSQL and NATS in a temporary directory (unless WEFTWORK_DATABASE_URL /
WEFTWORK_NATS_URL name servers), runs the customer and project services in this process, and
three times: submits BATCHES x BATCH_SIZE time entries over real gRPC (SubmitTime), approves
them batch by batch (ApproveTime: rating, one event per engagement, the outbox), then writes
as many comparable rows with asyncpg copy_records_to_table into a table shaped like
time_entries (its columns, checks and indexes), one transaction per batch, as our ceiling.
Prints the medians and the ratios. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import asyncpg
import uvloop
from google.type import date_pb2, money_pb2

from devstack.nats import EmbeddedNats
from devstack.postgres import EmbeddedPostgres
from mesh.grpc.client import open_channel
from mesh.service import ServiceSpec, running_service
from mesh.settings import Settings, load_settings, local_socket_dir, with_database
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

RUNS = 3
BATCHES = 20
BATCH_SIZE = 500
PEOPLE = 50  # each batch: 50 people x 10 days, 8 hours each (the 24-hour day holds)
FIRST_DAY = dt.date(2025, 1, 1)


@contextlib.contextmanager
def servers(data_dir: Path) -> Iterator[tuple[str, str]]:
    """(database server URL, NATS URL): the environment's, or embedded ones we stop after."""
    database_url = os.environ.get("WEFTWORK_DATABASE_URL")
    nats_url = os.environ.get("WEFTWORK_NATS_URL")
    postgres = nats = None
    try:
        if not database_url:
            postgres = EmbeddedPostgres(data_dir / "postgres", local_socket_dir(data_dir))
            database_url = postgres.start()
        if not nats_url:
            nats = EmbeddedNats(data_dir / "nats")
            nats_url = nats.start()
        yield database_url, nats_url
    finally:
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()


@contextlib.asynccontextmanager
async def serving(spec: ServiceSpec, settings: Settings, port: int = 0) -> AsyncIterator[int]:
    async with running_service(spec, settings, port=port) as (server, _):
        port = await server.start()
        try:
            yield port
        finally:
            await server.stop()


def day(value: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


async def open_engagement(stub: pb_grpc.ProjectServiceStub, run: int) -> pb.Engagement:
    for p in range(PEOPLE):
        person = pb.Person(id=f"bench-{run}-{p}", name=f"Person {run}/{p}", home_entity="UK01")
        await stub.UpsertPerson(pb.UpsertPersonRequest(person=person))
    answer: pb.CreateEngagementFromOpportunityResponse = await stub.CreateEngagementFromOpportunity(
        pb.CreateEngagementFromOpportunityRequest(
            source="salesforce",
            opportunity_id=f"bench-{uuid.uuid4()}",
            account=pb.OpportunityAccount(
                external_id=f"acct-{run}", name="Bench Ltd", country="GB"
            ),
            name="Benchmark",
            legal_entity="UK01",
            billing_model=pb.BILLING_MODEL_TIME_AND_MATERIALS,
            contract_value=money_pb2.Money(currency_code="GBP", units=1),
            start_date=day(FIRST_DAY),
            end_date=day(FIRST_DAY + dt.timedelta(days=10 * BATCHES)),
            rate_card=[pb.RateCardLine(role="Consultant", bill_rate="187.35", cost_rate="99.99")],
        )
    )
    return answer.engagement


def batch(engagement: pb.Engagement, run: int, number: int) -> list[pb.TimeEntryInput]:
    return [
        pb.TimeEntryInput(
            engagement_id=engagement.id,
            person_id=f"bench-{run}-{i % PEOPLE}",
            role="Consultant",
            date=day(FIRST_DAY + dt.timedelta(days=number * 10 + i // PEOPLE)),
            hours="8",
            description="Benchmark work",
            external_id=f"b{number}-{i}",
        )
        for i in range(BATCH_SIZE)
    ]


async def through_the_service(stub: pb_grpc.ProjectServiceStub, run: int) -> tuple[float, float]:
    """Seconds spent submitting, then approving, BATCHES x BATCH_SIZE entries."""
    engagement = await open_engagement(stub, run)
    batches = [batch(engagement, run, n) for n in range(BATCHES)]
    ids: list[list[str]] = []
    started = time.perf_counter()
    for entries in batches:
        answer = await stub.SubmitTime(pb.SubmitTimeRequest(entries=entries))
        ids.append([t.id for t in answer.time_entries])
    submitted = time.perf_counter()
    for batch_ids in ids:
        await stub.ApproveTime(pb.ApproveTimeRequest(ids=batch_ids))
    return submitted - started, time.perf_counter() - submitted


async def with_copy(dsn: str) -> float:
    """Seconds to COPY as many rows, a batch per transaction, into a time_entries look-alike."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS copy_ceiling (LIKE time_entries"
            " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        await conn.execute("TRUNCATE copy_ceiling")
        columns = [
            "id",
            "engagement_id",
            "person_id",
            "role",
            "service_date",
            "hours",
            "billable",
            "status",
            "description",
            "external_id",
            "submitted_at",
        ]
        engagement_id, now = uuid.uuid4(), dt.datetime.now(dt.UTC)
        rows = [
            [
                (
                    uuid.uuid4(),
                    engagement_id,
                    f"p-{i % PEOPLE}",
                    "Consultant",
                    FIRST_DAY + dt.timedelta(days=n * 10 + i // PEOPLE),
                    Decimal(8),
                    True,
                    "SUBMITTED",
                    "Benchmark work",
                    f"b{n}-{i}",
                    now,
                )
                for i in range(BATCH_SIZE)
            ]
            for n in range(BATCHES)
        ]
        started = time.perf_counter()
        for records in rows:
            async with conn.transaction():
                await conn.copy_records_to_table("copy_ceiling", records=records, columns=columns)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def measure(database_url: str, nats_url: str, data_dir: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = load_settings(
        {
            "WEFTWORK_DATA_DIR": str(data_dir),
            "WEFTWORK_DATABASE_URL": database_url,
            "WEFTWORK_NATS_URL": nats_url,
            "WEFTWORK_GRPC_DEADLINE_SECONDS": "30",
            "WEFTWORK_SHUTDOWN_GRACE_SECONDS": "2",
            "WEFTWORK_LOG_LEVEL": "WARNING",
            **{
                f"WEFTWORK_{name.upper()}_DATABASE_URL": with_database(
                    database_url, f"bench_{name}_{suffix}"
                )
                for name in ("customer", "project")
            },
        }
    )
    try:
        await run_all(settings)
    finally:  # leave nothing behind on a server we were pointed at
        admin = await asyncpg.connect(database_url)
        try:
            for name in ("customer", "project"):
                await admin.execute(f'DROP DATABASE IF EXISTS "bench_{name}_{suffix}" WITH (FORCE)')
        finally:
            await admin.close()


async def run_all(settings: Settings) -> None:
    async with (
        serving(CUSTOMER, settings) as customer_port,
        # The project service dials customer where it bound.
        serving(
            PROJECT,
            replace(settings, grpc_ports={**settings.grpc_ports, "customer": customer_port}),
        ) as port,
        open_channel(f"127.0.0.1:{port}", deadline_seconds=30) as channel,
    ):
        figures = await submit_approve_copy(
            pb_grpc.ProjectServiceStub(channel), settings.database_url_for("project")
        )
    ceiling = figures["copy"]
    print(f"\n{BATCHES} batches x {BATCH_SIZE} entries, medians of {RUNS} runs:")
    print(f"  SubmitTime                    {figures['submit']:>9,.0f} entries/s")
    print(f"  ApproveTime                   {figures['approve']:>9,.0f} entries/s")
    print(f"  submit + approve              {figures['submit_approve']:>9,.0f} entries/s")
    print(f"  copy_records_to_table         {ceiling:>9,.0f} rows/s")
    print(f"  submit / COPY                 {figures['submit'] / ceiling:>9.1%}")
    print(f"  submit + approve / COPY       {figures['submit_approve'] / ceiling:>9.1%}")


async def submit_approve_copy(
    stub: pb_grpc.ProjectServiceStub, copy_dsn: str, runs: int = RUNS, first_run: int = 0
) -> dict[str, float]:
    """Medians over `runs` of SubmitTime, ApproveTime, both, and COPY (entries or rows/s).
    Also used by `python -m bench` against the project service as its own process."""
    submit, approve, copy = [], [], []
    entries = BATCHES * BATCH_SIZE
    for run in range(first_run, first_run + runs):
        s, a = await through_the_service(stub, run)
        c = await with_copy(copy_dsn)
        submit.append(s)
        approve.append(a)
        copy.append(c)
        print(
            f"run {run + 1}: submit {entries / s:,.0f}/s, approve {entries / a:,.0f}/s,"
            f" submit+approve {entries / (s + a):,.0f}/s, COPY {entries / c:,.0f}/s",
            flush=True,
        )
    s, a, c = (statistics.median(x) for x in (submit, approve, copy))
    return {
        "entries": entries,
        "submit": entries / s,
        "approve": entries / a,
        "submit_approve": entries / (s + a),
        "copy": entries / c,
    }


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-bench-"))
    try:
        with servers(data_dir) as (database_url, nats_url):
            uvloop.run(measure(database_url, nats_url, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
