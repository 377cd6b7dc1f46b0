"""The console's HTTP contract without the platform: strict CSP, immutable hashed assets, and
GraphiQL rendering from the pinned local copies with nothing fetched from elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.console.assets import IMMUTABLE
from gateway.console.pages import PAGES, Console
from tests.support import serving_http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def console_server() -> AsyncIterator[tuple[str, Console]]:
    """The console's routes and GraphiQL page alone (GraphiQL at /graphql, as in dev mode)."""
    console = Console(dev_mode=True)
    app = Starlette(routes=[*console.routes(), Route("/graphql", console.graphiql)])
    async with serving_http(app) as port:
        yield f"http://127.0.0.1:{port}", console


async def test_pages_carry_a_strict_policy_and_assets_are_hashed_and_immutable(
    console_server: tuple[str, Console],
) -> None:
    url, console = console_server
    async with httpx.AsyncClient(base_url=url) as client:
        for path in (*(p.replace("{id}", "e-1") for p in PAGES), "/graphql"):
            page = await client.get(path)
            assert page.status_code == 200
            policy = page.headers["content-security-policy"]
            for directive in (
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                "frame-ancestors 'none'",
            ):
                assert directive in policy
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
            assert f"ws://127.0.0.1:{url.rsplit(':', 1)[1]}" in policy
            assert "<script>" not in page.text and " style=" not in page.text
            assert "unpkg" not in page.text and "https://" not in page.text
        asset = await client.get(console.assets.url("app/main.js"))
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.headers["content-type"].startswith("text/javascript")
        stale = await client.get("/console/assets/0000000000000000/app/main.js")
        assert stale.status_code == 404


async def test_graphiql_renders_from_local_copies_only(
    console_server: tuple[str, Console], chromium: Path, browser: Browser
) -> None:
    url, _ = console_server
    context = await browser.new_context()
    page = await context.new_page()
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    # CSP violations are console errors; a failed introspection (no API here) is not ours.
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    await page.goto(url + "/graphql")
    await expect(page.locator(".graphiql-container .graphiql-editors")).to_be_visible()
    assert all(r.startswith(url) for r in requested), requested
    assert errors == []
    await context.close()


def test_a_forged_host_header_never_widens_the_policy() -> None:
    from starlette.requests import Request

    from gateway.console.security import content_security_policy

    def policy(host: bytes) -> str:
        scope = {"type": "http", "headers": [(b"host", host)], "method": "GET", "path": "/"}
        return content_security_policy(Request(scope))

    assert "ws://console.example:8443 wss://console.example:8443" in policy(b"console.example:8443")
    forged = policy(b"x; script-src * 'unsafe-inline'")
    assert "connect-src 'self';" in forged and "unsafe-inline" not in forged
