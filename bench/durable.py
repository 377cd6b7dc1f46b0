"""`python -m bench --durable` (`make bench DURABLE=1`): the event pipeline in the production
durability mode, three JetStream nodes (devstack/nats_cluster.py) with R3 streams and
`sync_interval: always` (every write fsynced on each node before the ack), against raw
JetStream publish -> two consumers on the same cluster, R3, in the same run.

The pipeline is measured as bench/pipeline.py does (commit timestamps; a full-speed run), the
ceiling as bench/ceilings.py does, with an R3 stream. Prints its own table.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bench import ceilings, pipeline, report
from bench.stack import Platform
from mesh.events.nats import NatsConnection
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

ENTRIES = 20_000  # defaults of this mode: every write is fsynced three times
RAW_MESSAGES = 20_000


async def run(
    args: argparse.Namespace,
    platform: Platform,
    nats: NatsConnection,
    project: pb_grpc.ProjectServiceStub,
    step: Callable[[str], None],
) -> dict[str, Any]:
    entries = args.entries if args.entries_given else ENTRIES
    messages = args.raw_messages if args.raw_messages_given else RAW_MESSAGES
    step(f"durable pipeline: submitting {entries:,} entries (setup)")
    full, _ = await pipeline.prepare(platform, project, "durable", entries, args.batch)
    await platform.drained(nats)
    step(f"durable pipeline: approving {full.entries:,} entries at full speed")
    await pipeline.approve_full_speed(project, full)
    await pipeline.wait_through(platform, full, 120 + entries / 50)
    measured = await pipeline.measure(platform, full)
    await platform.drained(nats)
    event_bytes = await pipeline.event_bytes(platform, full)
    step(f"ceiling: raw JetStream, R3, {messages:,} messages of 200 B and of one event")
    replicas = platform.stream_replicas
    raw = [
        await ceilings.raw_jetstream(platform.nats_url, messages, 200, n, replicas=replicas)
        for n in range(args.runs)
    ]
    big = max(2_000, messages * 200 // event_bytes)
    raw_big = [
        await ceilings.raw_jetstream(platform.nats_url, big, event_bytes, n, replicas=replicas)
        for n in range(args.runs)
    ]
    return {
        "nodes": 3,
        "stream_replicas": replicas,
        "sync_interval": "always",
        "batch": args.batch,
        "full_speed": measured,
        "raw_jetstream": _median(raw),
        "raw_jetstream_event_size": _median(raw_big),
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: float(r["rate"]))
    return {**ordered[len(ordered) // 2], "runs": [r["rate"] for r in runs]}


def table(results: dict[str, Any]) -> str:
    d = results["durable"]
    full, raw, big = d["full_speed"], d["raw_jetstream"], d["raw_jetstream_event_size"]
    t = report.Table()
    t.section(
        f"Durable mode: {d['nodes']} JetStream nodes, R{d['stream_replicas']}, sync_interval"
        f" {d['sync_interval']}; {d['batch']} entries per ApproveTime call"
    )
    t.row(f"pipeline full speed, {full['entries']:,} entries: entries/s end to end",
          report.n(full["throughput"]), "", "", report.n(raw["rate"]),
          report.ratio(full["throughput"], raw["rate"]), "ceiling: raw 200 B msg/s")  # fmt: skip
    for stage, what in report.STAGES:
        latency = full[f"to_{stage}_ms"]
        t.row(f"  latency approval -> {what}", "", report.n(latency["p50"]),
              report.n(latency["p99"]))  # fmt: skip
    t.row("  entries billed and recognized, of approved", f"{full['entries_through']:,}",
          target=f"{full['dead_letters']} dead letters")  # fmt: skip
    t.row(f"raw JetStream R3, 200 B, {raw['messages']:,} msgs: msg/s", report.n(raw["rate"]),
          target=f"publish alone {raw['publish_rate']:,.0f}/s")  # fmt: skip
    t.row(f"raw JetStream R3, one event's size, {big['payload_bytes']:,} B: msg/s",
          report.n(big["rate"]), target=f"= {big['rate'] * d['batch']:,.0f} entries/s")  # fmt: skip
    m = results["machine"]
    header = [
        f"Weftwork durable-mode benchmark {results['started']}, {m['cores']} cores;"
        f" 1-minute load average {m['load_average_at_start'][0]:.2f} at start,"
        f" {results['load_average_at_end'][0]:.2f} at the end (others share this box)",
        f"PostgreSQL {results['postgres']}, nats-server {results['nats']}",
    ]
    return "\n".join([*header, *report.render(t.rows)])
