"""One table for the terminal, from the results dictionary that is also written as JSON."""

from __future__ import annotations

import importlib.metadata
import os
import platform as host
from typing import Any

import psutil

SERVICES = ("customer", "project", "billing", "revenue", "connect", "gateway")
MB = 1024 * 1024
COLUMNS = ("", "ours", "p50 ms", "p99 ms", "ceiling", "ratio", "target")
WIDTHS = (50, 10, 8, 8, 10, 6, 27)
# Latency rows of the pipeline: the key in the results, and what the commit is.
STAGES = (
    ("revenue", "revenue commit"),
    ("billing", "billing commit"),
    ("published", "relay's published mark"),
)


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if "model name" in ln), "")
    except OSError:
        pass
    versions = {}
    for package in ("grpcio", "protobuf", "strawberry-graphql", "asyncpg", "nats-py", "uvicorn"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "?"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "load_average_at_start": os.getloadavg(),
        "python": host.python_version(),
        **versions,
    }


def _n(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(ours: float | None, ceiling: float | None) -> str:
    return f"{ours / ceiling:.2f}" if ours and ceiling else "-"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def section(self, title: str) -> None:
        self.rows.append((title,))

    def row(self, label: str, ours: str, p50: str = "", p99: str = "", ceiling: str = "",
            ratio: str = "", target: str = "") -> None:  # fmt: skip
        self.rows.append((label, ours, p50, p99, ceiling, ratio, target))


def table(results: dict[str, Any]) -> str:
    t = Table()
    if "pipeline" in results:  # not with --only gateway
        _pipeline(t, results["pipeline"])
        _project(t, results["project_time"])
    _gateway(t, results["gateway"])
    if "grpc" in results:
        _grpc(t, results["grpc"])
    if "connect_inbound" in results:  # not with --only gateway
        from bench import connect_inbound, connect_outbound  # they use this module's helpers

        connect_inbound.rows(t, results.get("connect_inbound"))
        connect_outbound.rows(t, results.get("connect_outbound"))
    if "pipeline" in results:
        _resources(t, results)
    m = results["machine"]
    header = [
        f"Weftwork benchmarks {results['started']}, {m['cores']} cores ({m['cpu']}),"
        f" {m['memory_gib']} GiB; 1-minute load average {m['load_average_at_start'][0]:.2f} at"
        f" start, {results['load_average_at_end'][0]:.2f} at the end (others share this box)",
        f"Python {m['python']}, PostgreSQL {results['postgres']}, nats-server {results['nats']},"
        f" grpcio {m['grpcio']}, protobuf {m['protobuf']}, strawberry {m['strawberry-graphql']},"
        f" asyncpg {m['asyncpg']}, nats-py {m['nats-py']}, uvicorn {m['uvicorn']};"
        f" medians of {results['runs']} runs where repeated",
    ]
    return "\n".join([*header, *render(t.rows)])


def render(rows: list[tuple[str, ...]]) -> list[str]:
    return [_line(COLUMNS), *(_line(r) for r in rows)]


n, ratio = _n, _ratio  # for the sections kept in their own modules (bench/connect_inbound.py)


def _pipeline(t: Table, pipe: dict[str, Any]) -> None:
    full, rate, raw = pipe["full_speed"], pipe["fixed_rate"], pipe["raw_jetstream"]
    t.section(
        f"Event pipeline: approval (project) -> billable item (billing) + posting (revenue);"
        f" {pipe['batch']} entries per ApproveTime call; ceiling: raw JetStream 200 B msg/s"
    )
    for name, run in (("full speed", full), (f"offered {pipe['rate']:,.0f}/s", rate)):
        label = f"{name}, {run['entries']:,} entries: entries/s end to end"
        target = "≥ 5,000/s, ≥ 0.30 of raw" if run is full else "p99 ≤ 250 ms (to revenue)"
        t.row(label, _n(run["throughput"]), "", "", _n(raw["rate"]),
              _ratio(run["throughput"], raw["rate"]), target)  # fmt: skip
        for stage, what in STAGES:
            latency = run[f"to_{stage}_ms"]
            t.row(f"  latency approval -> {what}", "", _n(latency["p50"]), _n(latency["p99"]))
        t.row("  ApproveTime commits alone (entries/s)", _n(run["approve_rate"]))
        t.row("  entries billed and recognized, of approved", f"{run['entries_through']:,}",
              target=f"{run['dead_letters']} dead letters")  # fmt: skip
    copy = pipe["copy_rows_per_s"]
    t.row(f"full speed vs COPY into billable_items ({pipe['batch']}-row tx)",
          _n(full["throughput"]), "", "", _n(copy), _ratio(full["throughput"], copy))  # fmt: skip
    big = pipe["raw_jetstream_event_size"]
    t.row(f"raw JetStream at one event's size, {big['payload_bytes']:,} B, msg/s", _n(big["rate"]),
          target=f"= {big['rate'] * pipe['batch']:,.0f} entries/s")  # fmt: skip


def _project(t: Table, pt: dict[str, Any]) -> None:
    t.section(
        f"Project service (bench/project_time.py): {pt['entries']:,} entries, 500 per call;"
        " ceiling: COPY into a time_entries look-alike"
    )
    for key, label in (("submit", "SubmitTime"), ("approve", "ApproveTime"),
                       ("submit_approve", "submit + approve")):  # fmt: skip
        t.row(
            f"{label} entries/s", _n(pt[key]), "", "", _n(pt["copy"]), _ratio(pt[key], pt["copy"])
        )


TARGETS = {  # issue 19's acceptance, against bare Strawberry in the same run
    ("engagement view, warm cache", "16"): "≥ 1.0, p99 ≤ 50",
    ("engagement view, cache off", "16"): "≥ 0.3",
    ("page of 100, cache off", "16"): "≥ 0.1",
}


def _gateway(t: Table, gw: dict[str, Any]) -> None:
    t.section("Gateway (weftwork serve gateway) req/s; ceiling: bare Strawberry { hello }")
    off = gw.get("cache_off", {})
    for query, title, figures_by_c in (
        ("view", "engagement view, warm cache", gw["view"]),
        ("page", "page of 100, warm cache", gw["page"]),
        ("view", "engagement view, cache off", off.get("view", {})),
        ("page", "page of 100, cache off", off.get("page", {})),
    ):
        for c, figures in figures_by_c.items():
            bare = gw["bare"][c]["rate"]
            target = TARGETS.get((title, c), "")
            if figures["failures"]:
                target += f" ({figures['failures']} failed: {figures['first_failure'][:60]})"
            p50, p99 = _n(figures["p50_ms"], 1), _n(figures["p99_ms"], 1)
            t.row(f"{title}, concurrency {c}", _n(figures["rate"]), p50, p99, _n(bare),
                  _ratio(figures["rate"], bare), target)  # fmt: skip
        if cpu := dict(figures_by_c.get("16", {}).get("cpu_ms_per_request") or {}):
            machine = cpu.pop("machine", 0.0)
            each = ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items() if ms >= 0.05)
            t.row(f"  CPU ms per {query} request at c=16", f"{machine:.1f}",
                  target=f"whole machine; by process: {each}")  # fmt: skip
    if stale := gw.get("staleness"):
        target = "p99 ≤ 250; from ApproveTime's answer (straight to project) to a changed view"
        t.row(f"staleness of a cached view, ms ({stale['samples']} writes)", "",
              _n(stale["p50_ms"], 1), _n(stale["p99_ms"], 1), target=target)  # fmt: skip
    for query, calls in gw["calls_per_request"].items():
        # "/weftwork.billing.v1.BillingService/BatchGetInvoicesByEngagement" -> "billing 1"
        each = ", ".join(f"{m.split('.')[1]} {n}" for m, n in sorted(calls.items()))
        target = " (target: one per downstream service)" if query == "page" else ""
        t.row(f"gRPC calls per {query} request", str(sum(calls.values())), target=each + target)


def _grpc(t: Table, g: dict[str, Any]) -> None:
    sizes = f"{g['request_bytes']:,} B in / {g['response_bytes']:,} B out"
    t.section(f"gRPC, {g['concurrency']} calls in flight, {sizes}; ceiling: bare grpc.aio echo")
    batch, echo = g["batch_get"], g["echo"]
    t.row(f"BatchGetEngagements({g['ids']} ids) calls/s", _n(batch["rate"]),
          _n(batch["p50_ms"], 1), _n(batch["p99_ms"], 1), _n(echo["rate"]),
          _ratio(batch["rate"], echo["rate"]))  # fmt: skip


def _resources(t: Table, results: dict[str, Any]) -> None:
    memory, full = results["memory"], results["pipeline"]["full_speed"]
    t.section("Peak memory during the pipeline runs, MB (in brackets: over the whole run)")
    for name in (*SERVICES, "nats", "postgres"):
        during, whole = memory["pipeline"].get(name, 0), memory["whole_run"].get(name, 0)
        label = "postgres (PSS, postmaster + backends)" if name == "postgres" else f"{name} (RSS)"
        target = "≤ 150 MB" if name in SERVICES else ""
        t.row(label, f"{during / MB:,.0f} [{whole / MB:,.0f}]", target=target)
    t.section(
        "CPU from the first approval call until billing and revenue hold every entry, full speed:"
        " ms per 1,000 entries (share of one core)"
    )
    used = dict(full["cpu_seconds"])
    machine = used.pop("machine")
    used["other processes on this machine"] = max(0.0, machine - sum(used.values()))
    for name, seconds in used.items():
        label = "bench (this process: client, sampler)" if name == "bench" else name
        share = seconds / full["cpu_window_seconds"]
        t.row(label, _n(seconds / full["entries"] * 1e6), target=f"{share:.0%}")


def _line(cells: tuple[str, ...]) -> str:
    if len(cells) == 1:
        return f"-- {cells[0]}"
    label, *rest = cells
    numbers = [f"{c:>{w}}" for c, w in zip(rest[:-1], WIDTHS[1:-1], strict=True)]
    return f"{label:<{WIDTHS[0]}} {' '.join(numbers)}  {rest[-1]}".rstrip()
