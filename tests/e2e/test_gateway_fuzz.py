"""Fuzzing the live schema (hypothesis-graphql) over real HTTP: every query and mutation with
generated arguments (hostile numbers among them), as admins and as scoped callers.

No answer may be a 5xx, an INTERNAL_SERVER_ERROR, an error without a code, or later than the
runner's per-request timeout. WEFTWORK_FUZZ_REQUESTS sets the size (2,000 by default; `make
fuzz` sends 20,000), WEFTWORK_FUZZ_SEED replays a run. Documents are generated and sent by
tests/e2e/fuzz.py in a process of its own, while this one serves the platform.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import graphql
import pytest

from mesh.tokens import issue_token
from tests.e2e.platform import SECRET, Platform, gql
from tests.e2e.test_gateway_flows import close_won, draft_for, opportunity, record_time

REQUESTS = int(os.environ.get("WEFTWORK_FUZZ_REQUESTS", "2000"))
SEED = int(os.environ.get("WEFTWORK_FUZZ_SEED", "0"))
ROOT = Path(__file__).resolve().parents[2]
# Seconds the run may take: ~50 requests a second on an idle machine, a quarter of that loaded.
ALLOWED_SECONDS = max(240, REQUESTS // 10)


def callers() -> list[str]:
    """Admins with subjects of their own (the budget is per principal; its refusals are not
    what is fuzzed here), and scoped callers of the other roles."""
    tokens = [
        issue_token(SECRET, subject=f"fuzz-admin-{i}", roles=["admin"], entities=["*"])
        for i in range(48)
    ]
    for role, entities in [("finance", ["US01"]), ("delivery", ["UK01"]), ("sales", ["DE01"])]:
        tokens += [
            issue_token(SECRET, subject=f"fuzz-{role}-{i}", roles=[role], entities=entities)
            for i in range(8)
        ]
    return [f"Bearer {t}" for t in tokens]


@pytest.fixture(scope="module")
async def known_ids(api: Platform) -> list[str]:
    """Ids that exist, so that generated requests get past NOT_FOUND now and then."""
    engagement = await close_won(api, **opportunity("FUZZ-1", "US01", "USD", "TIME_AND_MATERIALS"))
    entries = await record_time(api, engagement["id"], "fuzzer", [("2026-01-05", "8", True)])
    draft = await draft_for(api, engagement["id"], "2026-01-31")
    view = await gql(
        api, "query($id: ID!) { engagement(id: $id) { customer { id } } }", id=engagement["id"]
    )
    return [engagement["id"], entries[0]["id"], draft, view["engagement"]["customer"]["id"]]


@pytest.mark.timeout(ALLOWED_SECONDS + 60)
async def test_no_generated_request_is_a_server_error(
    api: Platform, known_ids: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "fuzz.json"
    config.write_text(
        json.dumps(
            {
                "url": api.url,
                "tokens": callers(),
                "known_ids": known_ids,
                "sdl": graphql.print_schema(api.app.state.schema._schema),
                "requests": REQUESTS,
                "seed": SEED,
            }
        )
    )
    runner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.fuzz",
        str(config),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(runner.communicate(), timeout=ALLOWED_SECONDS)
    finally:
        if runner.returncode is None:
            runner.kill()
            await runner.wait()
    text = output.decode(errors="replace")
    assert runner.returncode == 0, text[-8000:]
    summary = json.loads(text.strip().splitlines()[-1])
    print(f"\nfuzz: {summary}")
    assert summary["requests"] >= REQUESTS
