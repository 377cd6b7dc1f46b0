"""`make bench`: the whole platform against its ceilings, measured in one run on this machine.

    .venv/bin/python -m bench [--entries 100000] [--rate-entries 60000] [--batch 100] ...

Starts embedded PostgreSQL and NATS in a temporary directory, the five services and the
gateway as their own processes, then measures (see each module's docstring for exactly how):
the submit/approve path of the project service (bench/project_time.py), the event pipeline at
full speed and at a fixed offered rate (bench/pipeline.py) against raw JetStream and COPY
(bench/ceilings.py), the gateway against a bare Strawberry server (bench/gateway_bench.py),
a batch gRPC read against a bare echo (bench/grpc_bench.py), connect's webhooks in and out
against bare Starlette and httpx (bench/connect_inbound.py, bench/connect_outbound.py), and
memory and CPU per process.
Prints one table and writes bench/results/<time>.json. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from bench import (
    ceilings,
    durable,
    gateway_bench,
    grpc_bench,
    pipeline,
    project_time,
    report,
)
from bench.stack import Platform, running_platform
from mesh.events.nats import NatsConnection
from mesh.grpc.client import open_channel
from weftwork.billing.v1 import billing_service_pb2_grpc as billing_grpc
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

RESULTS = Path(__file__).parent / "results"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="full-speed pipeline run")
    parser.add_argument(
        "--rate-entries", type=int, default=60_000, help="entries of the fixed-rate run"
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="offered entries/s")
    parser.add_argument("--batch", type=int, default=100, help="entries per ApproveTime call")
    parser.add_argument("--raw-messages", type=int, default=100_000, help="per raw JetStream run")
    parser.add_argument("--runs", type=int, default=3, help="repeats of the cheap measurements")
    parser.add_argument("--seconds", type=float, default=2.0, help="per HTTP or gRPC load run")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    parser.add_argument(
        "--only", choices=("gateway",), help="only this part (no pipeline): quicker, alone"
    )
    parser.add_argument(
        "--durable",
        action="store_true",
        help="only the pipeline on 3 NATS nodes, R3, sync_interval always (bench/durable.py)",
    )
    args = parser.parse_args()
    # The durable mode has smaller defaults of its own; these say whether they were set.
    args.entries_given = any(a.startswith("--entries") for a in sys.argv[1:])
    args.raw_messages_given = any(a.startswith("--raw-messages") for a in sys.argv[1:])
    return args


class Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, what: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {what}", file=sys.stderr, flush=True)


async def measure(args: argparse.Namespace, data_dir: Path, step: Progress) -> dict[str, Any]:
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "machine": report.machine(),
        "runs": args.runs,
        "arguments": {k: v for k, v in vars(args).items() if k != "keep"},
    }
    if args.durable:
        return await _durable(args, data_dir, step, results)
    step("starting PostgreSQL, NATS, four services and the gateway")
    async with (
        running_platform(data_dir) as platform,
        NatsConnection(platform.nats_url, name="bench") as nats,
        open_channel(platform.target("project"), deadline_seconds=60) as project_channel,
        open_channel(platform.target("billing"), deadline_seconds=60) as billing_channel,
    ):
        await nats.wait_connected(10)
        results["postgres"], results["nats"] = platform.postgres_version, platform.nats_version
        project = pb_grpc.ProjectServiceStub(project_channel)
        billing = billing_grpc.BillingServiceStub(billing_channel)

        if args.only is None:
            step("project service: submit, approve and COPY (bench/project_time.py)")
            results["project_time"] = await project_time.submit_approve_copy(
                project, platform.service_dsn("project"), runs=args.runs
            )
            await platform.drained(nats)
            results["pipeline"] = await _pipeline(args, platform, nats, project, step)

        step("gateway: seeding 100 engagements with time, invoices and revenue")
        ids = await gateway_bench.seed_engagements(platform, project, billing)
        await platform.drained(nats)
        step("gateway: view and page of 100, cache on and off, staleness, bare Strawberry")
        results["gateway"] = await gateway_bench.run(
            platform, ids, args.runs, args.seconds, project
        )
        if args.only is None:
            from bench import connect_inbound, connect_outbound  # only for the whole run

            step("gRPC: BatchGetEngagements(100) and a bare echo")
            results["grpc"] = await grpc_bench.run(platform, ids, args.runs, args.seconds)
            step("connect: signed webhooks to /hooks, and a bare Starlette endpoint")
            results["connect_inbound"] = await connect_inbound.run(
                platform, args.runs, args.seconds
            )
            step("connect: 5,000 outbound deliveries to a local receiver, and bare httpx")
            results["connect_outbound"] = await connect_outbound.run(platform, nats.jetstream, 5000)
        results["memory"] = {
            "pipeline": dict(platform.memory.windows.get("pipeline", {})),
            "whole_run": dict(platform.memory.whole),
        }
        platform.check_alive()
    results["load_average_at_end"] = os.getloadavg()
    return results


async def _durable(
    args: argparse.Namespace, data_dir: Path, step: Progress, results: dict[str, Any]
) -> dict[str, Any]:
    step("starting PostgreSQL, 3 NATS nodes (R3, sync always), five services and the gateway")
    async with (
        running_platform(data_dir, durable=True) as platform,
        NatsConnection(platform.nats_url, name="bench") as nats,
        open_channel(platform.target("project"), deadline_seconds=60) as project_channel,
    ):
        await nats.wait_connected(10)
        results["postgres"], results["nats"] = platform.postgres_version, platform.nats_version
        project = pb_grpc.ProjectServiceStub(project_channel)
        results["durable"] = await durable.run(args, platform, nats, project, step)
        platform.check_alive()
    results["load_average_at_end"] = os.getloadavg()
    return results


async def _pipeline(
    args: argparse.Namespace,
    platform: Platform,
    nats: NatsConnection,
    project: pb_grpc.ProjectServiceStub,
    step: Progress,
) -> dict[str, Any]:
    step(f"pipeline: submitting {args.entries:,} + {args.rate_entries:,} entries (setup)")
    full, submit_seconds = await pipeline.prepare(
        platform, project, "full", args.entries, args.batch
    )
    rate, _ = await pipeline.prepare(platform, project, "rate", args.rate_entries, args.batch)
    await platform.drained(nats)
    within = 120 + (args.entries + args.rate_entries) / 200
    with platform.memory.window("pipeline"):
        step(f"pipeline: approving {full.entries:,} entries at full speed")
        cpu_before, window_started = platform.cpu_seconds(), time.monotonic()
        client_seconds = await pipeline.approve_full_speed(project, full)
        await pipeline.wait_through(platform, full, within)
        cpu_used = {k: v - cpu_before[k] for k, v in platform.cpu_seconds().items()}
        cpu_window = time.monotonic() - window_started
        await platform.drained(nats)
        step(f"pipeline: approving {rate.entries:,} entries at {args.rate:,.0f} entries/s")
        rate_seconds, late = await pipeline.approve_at_rate(project, rate, args.rate)
        await pipeline.wait_through(platform, rate, within)
        await platform.drained(nats)
    result: dict[str, Any] = {
        "batch": args.batch,
        "rate": args.rate,
        "engagements": pipeline.ENGAGEMENTS,
        "callers": pipeline.CALLERS,
        "submit_rate_setup": full.entries / submit_seconds,
        "full_speed": {
            **await pipeline.measure(platform, full),
            "client_seconds": client_seconds,
            "cpu_seconds": cpu_used,
            "cpu_window_seconds": cpu_window,
        },
        "fixed_rate": {
            **await pipeline.measure(platform, rate),
            "client_seconds": rate_seconds,
            "calls_started_late": late,
        },
    }
    step("ceilings: raw JetStream publish -> 2 consumers, and COPY")
    event_bytes = await pipeline.event_bytes(platform, full)
    raw = [
        await ceilings.raw_jetstream(platform.nats_url, args.raw_messages, 200, run)
        for run in range(args.runs)
    ]
    result["raw_jetstream"] = _median_run(raw)
    big = max(5_000, args.raw_messages * 200 // event_bytes)  # not so few that start-up dominates
    raw_big = [
        await ceilings.raw_jetstream(platform.nats_url, big, event_bytes, run)
        for run in range(args.runs)
    ]
    result["raw_jetstream_event_size"] = _median_run(raw_big)
    copies = [
        await ceilings.copy_ceiling(platform.service_dsn("billing"), 50_000, args.batch)
        for _ in range(args.runs)
    ]
    result["copy_rows_per_s"] = sorted(copies)[len(copies) // 2]
    result["copy_runs"] = copies
    return result


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: float(r["rate"]))
    return {**ordered[len(ordered) // 2], "runs": [r["rate"] for r in runs]}


def main() -> None:
    args = arguments()
    step = Progress()
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-bench-"))
    failed = True
    try:
        results = uvloop.run(measure(args, data_dir, step))
        failed = False
    finally:
        if failed or args.keep:
            print(f"data directory and process logs kept in {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - step.started, 1)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{results['started'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(durable.table(results) if args.durable else report.table(results))
    print(f"\n{results['seconds']:.0f} s in all; {path.relative_to(Path.cwd())}")


if __name__ == "__main__":
    main()
