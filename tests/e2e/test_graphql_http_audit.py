"""The graphql-http server audit (GraphQL over HTTP spec) against the gateway served by uvicorn.

Needs Node and `npm ci --prefix tools/graphql-audit` (make test does it when Node is present).
It runs in development mode: one MUST-audit sends an introspection query (`__type`), which
production mode refuses on purpose.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.app import create_app
from mesh.tokens import issue_token
from tests.support import serving_http, settings_for

AUDIT = Path(__file__).parents[2] / "tools" / "graphql-audit"
SECRET = "audit-secret-audit-secret-audit-secret"


@pytest.fixture
async def gateway_url(tmp_path: Path) -> AsyncIterator[str]:
    settings, _ = settings_for(
        "postgresql://unused@127.0.0.1:1/postgres",
        "nats://127.0.0.1:1",
        tmp_path,
        WEFTWORK_JWT_SECRET=SECRET,
        WEFTWORK_DEV_MODE="true",
    )
    async with serving_http(create_app(settings)) as port:
        yield f"http://127.0.0.1:{port}/graphql"


async def test_gateway_passes_the_graphql_over_http_audit(gateway_url: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("graphql-http audit skipped: Node is not installed")
    if not (AUDIT / "node_modules" / "graphql-http").exists():
        pytest.skip("graphql-http audit skipped: run `npm ci --prefix tools/graphql-audit`")
    token = issue_token(SECRET, subject="audit", roles=["admin"], entities=["*"])
    audit = await asyncio.create_subprocess_exec(
        node,
        str(AUDIT / "audit.mjs"),
        gateway_url,
        token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await audit.communicate()
    report = output.decode()
    assert audit.returncode == 0, report
    summary = report.strip().splitlines()[-1]
    # Every audit ok, the SHOULDs of application/graphql-response+json included (bare
    # Strawberry: 53 ok and 8 warnings).
    assert summary == "graphql-http audit: 61 audits, 61 ok, 0 warnings, 0 errors", report
