"""The gateway under load: the engagement view and a page of 100 engagements, against a bare
Strawberry schema served the same way, at several concurrencies.

The gateway measured is the `weftwork serve gateway` process. Its gRPC calls per request are
counted on a second, in-process gateway (`create_app` over the same services, its
`app.state.clients.counter`), one request of each query, outside the timed runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from bench import cache_bench, http_load, seed
from bench.bare import HELLO
from bench.processes import spawn
from bench.stack import JWT_SECRET, Platform
from bench.stats import summarize
from devstack.process import reserve_port
from gateway.app import create_app
from mesh.settings import load_settings
from mesh.tokens import issue_token
from weftwork.billing.v1 import billing_service_pb2 as billing_pb
from weftwork.billing.v1 import billing_service_pb2_grpc as billing_grpc
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

FIRM = seed.Firm("DE01", "EUR", "DE", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
ENGAGEMENTS, CUSTOMERS, ENTRIES_EACH = 100, 25, 5
CONCURRENCIES = (1, 16, 64)

FIELDS = """fragment view on Engagement {
  id code name status legalEntity currency billingModel startDate endDate
  contractValue { amount currency }
  customer { id name country }
  invoices { id number status issueDate dueDate
             total { amount currency } balance { amount currency } }
  revenue { recognized { amount currency } billed { amount currency }
            unbilled { amount currency } deferred { amount currency } }
  setup { project billing revenue }
}"""
VIEW = "query View($id: ID!) { engagement(id: $id) { ...view } }\n" + FIELDS
PAGE = (
    'query Page { engagements(first: 100, legalEntity: "DE01") {'
    " edges { node { ...view } } pageInfo { hasNextPage endCursor } } }\n" + FIELDS
)


async def seed_engagements(
    platform: Platform,
    project: pb_grpc.ProjectServiceStub,
    billing: billing_grpc.BillingServiceStub,
) -> list[str]:
    """100 engagements of 25 customers, each with 5 approved entries on an issued invoice."""
    ids = await seed.open_engagements(project, FIRM, "gateway", ENGAGEMENTS, CUSTOMERS)
    people = [f"gateway-{p}" for p in range(ENTRIES_EACH)]
    await seed.register_people(project, FIRM, people)
    await seed.wait_set_up(platform, ids)
    sheets = [
        seed.timesheet(e, people, ENTRIES_EACH, FIRM.start + dt.timedelta(days=n))
        for n, e in enumerate(ids)
    ]
    entries, _ = await seed.submit(project, sheets)
    for batch in entries:
        await project.ApproveTime(pb.ApproveTimeRequest(ids=batch), timeout=30)

    async def billed() -> bool:
        count = await seed.fetchval(
            platform.service_dsn("billing"),
            "SELECT count(*) FROM billable_items WHERE engagement_id = ANY($1::uuid[])",
            ids,
        )
        return bool(count == ENGAGEMENTS * ENTRIES_EACH)

    await seed.wait_for(platform, "billing to hold the gateway engagements' time", billed)
    run = await billing.RunBilling(
        billing_pb.RunBillingRequest(cutoff=seed.day(FIRM.end), legal_entity=FIRM.entity),
        timeout=60,
    )
    for invoice in run.invoices:
        await billing.IssueInvoice(
            billing_pb.IssueInvoiceRequest(id=invoice.id, issue_date=seed.day(FIRM.end)),
            timeout=30,
        )
    return ids


def _requests(port: int, ids: Sequence[str]) -> dict[str, list[bytes]]:
    headers = _auth_headers()
    return {
        "view": [
            http_load.post(port, "/graphql", {"query": VIEW, "variables": {"id": i}}, headers)
            for i in ids
        ],
        "page": [http_load.post(port, "/graphql", {"query": PAGE}, headers)],
    }


async def calls_per_request(platform: Platform, ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """gRPC calls per request of each query, counted by an in-process gateway."""
    app = create_app(load_settings(platform.env("gateway")))
    counter = app.state.clients.counter
    counted = {}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            client.headers.update(_auth_headers())
            for name, body in (
                ("view", {"query": VIEW, "variables": {"id": ids[0]}}),
                ("page", {"query": PAGE}),
            ):
                counter.calls.clear()
                answer = (await client.post("/graphql", json=body)).json()
                if "errors" in answer:
                    raise RuntimeError(f"{name}: {answer['errors']}")
                counted[name] = dict(counter.calls)
    finally:
        await app.state.clients.close()
    return counted


async def _measure(
    port: int,
    requests: Sequence[bytes],
    runs: int,
    seconds: float,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Rates and latencies at each concurrency; with `cpu` (the platform's CPU seconds per
    process), also the CPU each process spent per answered request: where a request's time
    goes across the gateway, the services, PostgreSQL and the load generator."""
    await http_load.answer(port, requests[0])
    await http_load.load(port, requests, concurrency=16, seconds=1)  # warm-up, not recorded
    results = {}
    for concurrency in CONCURRENCIES:
        before = cpu() if cpu else {}
        done = [
            await http_load.load(port, requests, concurrency=concurrency, seconds=seconds)
            for _ in range(runs)
        ]
        results[str(concurrency)] = summarize(done)
        if cpu:
            answered = max(1, results[str(concurrency)]["requests"])
            results[str(concurrency)]["cpu_ms_per_request"] = {
                name: (used - before[name]) * 1000 / answered for name, used in cpu().items()
            }
    return results


async def run(
    platform: Platform,
    ids: Sequence[str],
    runs: int,
    seconds: float,
    project: pb_grpc.ProjectServiceStub,
) -> dict[str, Any]:
    """`view` and `page` with the response cache on (warm after the warm-up run), then both
    with it off (`cache_off`), the staleness of a cached view, and bare Strawberry."""
    port = platform.ports["gateway"]
    requests = _requests(port, ids)
    results: dict[str, Any] = {
        "calls_per_request": await calls_per_request(platform, ids),
        "view": await _measure(port, requests["view"], runs, seconds, platform.cpu_seconds),
        "page": await _measure(port, requests["page"], runs, seconds, platform.cpu_seconds),
        "cache_off": await cache_bench.cache_off(
            platform,
            lambda p: _requests(p, ids),
            lambda p, r: _measure(p, r, runs, seconds),  # its CPU is not the platform's
        ),
        "staleness": await cache_bench.staleness(platform, project, FIRM, _auth_headers()),
    }
    with reserve_port() as reservation:  # held until the bare server is gone
        bare_port = int(reservation.getsockname()[1])
        bare = spawn(
            "bare-strawberry",
            [sys.executable, "-m", "bench.bare", "strawberry", str(bare_port)],
            platform.data_dir / "bare-strawberry.log",
        )
        try:
            hello = http_load.post(bare_port, "/graphql", {"query": HELLO}, _auth_headers())
            await seed.wait_for(
                platform, "the bare Strawberry server", lambda: _answers(bare_port, hello), 30
            )
            results["bare"] = await _measure(bare_port, [hello], runs, seconds)
        finally:
            bare.stop()
    return results


def _auth_headers() -> dict[str, str]:
    """An admin's token (the bare Strawberry server gets it too, and ignores it)."""
    token = issue_token(JWT_SECRET, subject="bench", roles=["admin"], entities=["*"])
    return {"Authorization": f"Bearer {token}"}


async def _answers(port: int, request: bytes) -> bool:
    try:
        await http_load.answer(port, request)
    except (OSError, RuntimeError, asyncio.IncompleteReadError):
        return False
    return True
