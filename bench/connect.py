"""`python -m bench.connect`: connect's figures alone (bench/connect_bench.py), on the same
platform `python -m bench` starts, without the long pipeline runs before them.

    .venv/bin/python -m bench.connect [--seconds 5] [--runs 3] [--deliveries 5000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from bench import connect_bench, report
from bench.stack import running_platform
from mesh.events.nats import NatsConnection

RESULTS = Path(__file__).parent / "results"


async def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    async with (
        running_platform(data_dir) as platform,
        NatsConnection(platform.nats_url, name="bench-connect") as nats,
    ):
        await nats.wait_connected(10)
        result = await connect_bench.run(
            platform, nats.jetstream, runs=args.runs, seconds=args.seconds,
            deliveries=args.deliveries,
        )  # fmt: skip
        platform.check_alive()
        return {"machine": report.machine(), "connect": result}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.connect")
    parser.add_argument("--seconds", type=float, default=5.0, help="per closed-loop run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deliveries", type=int, default=5000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-bench-connect-"))
    started = time.monotonic()
    try:
        results = uvloop.run(measure(args, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"connect-{time.strftime('%Y-%m-%dT%H%MZ', time.gmtime())}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n".join(connect_bench.report(results["connect"])))
    print(f"{results['seconds']:.0f} s in all; {path}")


if __name__ == "__main__":
    main()
