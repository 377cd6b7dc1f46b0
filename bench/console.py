"""`make bench-console`: each console page's first render and data-loaded time in Chromium.

    .venv/bin/python -m bench.console [--runs 7]

Starts the platform as real processes (bench/stack.py), seeds the demo firm through GraphQL,
then opens every console page in Debian's Chromium with a full navigation (page.goto), `runs`
times after one warm-up (assets cached, as they are for a returning user; the cold first load is
reported too). Times are the browser's own, from navigation start: first render is the page's
frame drawn (the `weftwork:first-render` mark), data is the page's figures shown
(`weftwork:data-ready`). The baseline is a static HTML page with one stylesheet served by a
plain Python HTTP server in the same run (its first contentful paint and load event); ratios
are console / static. The targets (issue #16: first render <= 1 s, data <= 500 ms) are shown,
never asserted. Writes bench/results/console-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import http.server
import json
import os
import statistics
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

from bench import report
from bench.stack import JWT_SECRET, running_platform
from devstack.demo import seed
from mesh.tokens import issue_token
from tests.e2e.console.browser import MISSING, chromium_path, launched
from tests.e2e.console.pages import DESKTOP, pages

RESULTS = Path(__file__).parent / "results"
STATIC_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>static</title><link rel="stylesheet" href="style.css"></head>
<body><header>Weftwork</header>
<main><h1>A static page</h1><p>The baseline.</p></main></body></html>"""
TIMES = """() => {
  const last = (name) => performance.getEntriesByName(name).at(-1)?.startTime ?? null;
  const nav = performance.getEntriesByType("navigation")[0];
  return {first_render: last("weftwork:first-render"), data: last("weftwork:data-ready"),
          fcp: last("first-contentful-paint"), load: nav ? nav.loadEventEnd : null};
}"""


@contextlib.contextmanager
def static_server(root: Path) -> Iterator[str]:
    (root / "index.html").write_text(STATIC_PAGE)
    (root / "style.css").write_text("body { font-family: sans-serif; margin: 2rem; }\n")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


async def _timed(page: Page, url: str, ready: str | None) -> dict[str, float | None]:
    await page.goto(url, wait_until="load")
    if ready:
        await page.wait_for_selector(ready)
    times: dict[str, float | None] = await page.evaluate(TIMES)
    return times


def _median(samples: list[dict[str, float | None]], key: str) -> float | None:
    values = [s[key] for s in samples if s[key] is not None]
    return round(statistics.median(values), 1) if values else None  # type: ignore[type-var]


async def measure(
    browser: Browser, base: str, graphql_url: str, static_url: str, runs: int
) -> dict[str, Any]:
    token = issue_token(JWT_SECRET, subject="bench", roles=["admin"], entities=["*"])
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = await context.new_page()
    static = [await _timed(page, static_url, None) for _ in range(runs + 1)]
    await page.goto(f"{base}/#token={token}")
    await page.wait_for_selector("main[data-state=ready]")
    results: dict[str, Any] = {
        "static": {"fcp_ms": _median(static[1:], "fcp"), "load_ms": _median(static[1:], "load")}
    }
    for console_page in await pages(graphql_url, token):
        url = base + console_page.path
        samples = [await _timed(page, url, "main[data-state=ready]") for _ in range(runs + 1)]
        results[console_page.name] = {
            "cold_first_render_ms": samples[0]["first_render"],
            "cold_data_ms": samples[0]["data"],
            "first_render_ms": _median(samples[1:], "first_render"),
            "data_ms": _median(samples[1:], "data"),
            "fcp_ms": _median(samples[1:], "fcp"),
        }
    await context.close()
    return results


def table(results: dict[str, Any]) -> str:
    static = results["static"]
    lines = [
        f"static page: first contentful paint {static['fcp_ms']} ms, load {static['load_ms']} ms",
        f"{'page':<13} {'first render':>13} {'data':>9} {'render/static':>14} "
        f"{'data/static':>12}  {'cold render':>11} {'cold data':>10}  targets",
    ]
    for name, r in results.items():
        if name == "static":
            continue
        render_ratio = r["first_render_ms"] / static["fcp_ms"]
        data_ratio = r["data_ms"] / static["load_ms"]
        lines.append(
            f"{name:<13} {r['first_render_ms']:>10} ms {r['data_ms']:>6} ms "
            f"{render_ratio:>13.1f}x {data_ratio:>11.1f}x"
            f"  {r['cold_first_render_ms']:>8.0f} ms {r['cold_data_ms']:>7.0f} ms"
            "  <= 1000 / <= 500 ms"
        )
    return "\n".join(lines)


async def main(runs: int) -> dict[str, Any]:
    executable = chromium_path()
    if executable is None:
        raise SystemExit(MISSING)
    with tempfile.TemporaryDirectory(prefix="weftwork-bench-console-") as tmp:
        data_dir = Path(tmp)
        (data_dir / "static").mkdir()
        async with running_platform(data_dir / "platform") as platform:
            base = f"http://127.0.0.1:{platform.ports['gateway']}"
            token = issue_token(JWT_SECRET, subject="bench", roles=["admin"], entities=["*"])
            await seed(f"{base}/graphql", token)
            with static_server(data_dir / "static") as static_url:
                async with launched(executable) as browser:
                    measured = await measure(browser, base, f"{base}/graphql", static_url, runs)
    return {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "machine": report.machine(),
        # Others share this machine: the load says how quiet the run was.
        "load_average_1m_after": os.getloadavg()[0],
        "runs": runs,
        "pages": measured,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.console", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=7, help="timed loads per page after a warm-up")
    args = parser.parse_args()
    results = asyncio.run(main(args.runs))
    print(table(results["pages"]))
    print(f"load average (1 min) after the run: {results['load_average_1m_after']:.1f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"console-{results['started'].replace(':', '')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")
