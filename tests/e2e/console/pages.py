"""The console's pages as a person opens them, shared by the tests, screenshots and the bench."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from playwright.async_api import BrowserContext, Page, ViewportSize, expect

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass(frozen=True)
class ConsolePage:
    name: str
    path: str


async def pages(graphql_url: str, token: str) -> list[ConsolePage]:
    """Every page, the engagement page on the demo's first engagement (by code)."""
    query = "{ engagements(first: 100) { edges { node { id code } } } }"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        answer = (await client.post(graphql_url, json={"query": query})).json()
    edges = answer["data"]["engagements"]["edges"]
    nodes = sorted((e["node"] for e in edges), key=lambda n: n["code"])
    return [
        ConsolePage("portfolio", "/"),
        ConsolePage("engagements", "/engagements"),
        ConsolePage("engagement", f"/engagements/{nodes[0]['id']}"),
        # The demo firm books August to October 2026.
        ConsolePage("utilization", "/utilization?from=2026-08-01&to=2026-10-31"),
        ConsolePage("integration", "/integration"),
    ]


async def signed_in(context: BrowserContext, base: str, token: str) -> Page:
    """A tab of the context, signed in through the `#token=` link `make up` prints."""
    page = await context.new_page()
    await page.goto(f"{base}/#token={token}")
    await page.wait_for_selector("main[data-state=ready]")
    return page


async def open_page(page: Page, base: str, path: str) -> None:
    """Open a page and wait until its figures and what follows them (flags, timeline) are in."""
    await page.goto(base + path)
    await page.wait_for_selector("main[data-state=ready]")
    # A locator, not wait_for_function: that one evaluates a string, which the page's CSP refuses.
    await expect(page.locator("main [aria-busy=true]")).to_have_count(0, timeout=30_000)
