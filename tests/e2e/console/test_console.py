"""The console in a real browser (Debian's Chromium) against the platform with the demo firm."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.e2e.connect.hooks import nodes
from tests.e2e.console.firm import (
    APPROVED,
    a_disabled_webhook_endpoint,
    bury_a_replayable_dead_letter,
    open_an_integration_exception,
)
from tests.e2e.console.pages import DESKTOP, PHONE, ConsolePage, open_page, pages, signed_in
from tests.e2e.platform import Platform, gql, post

pytestmark = pytest.mark.slow


def base(firm: Platform) -> str:
    """The console, from the gateway in production mode (tests/e2e/console/conftest.py)."""
    return firm.console or firm.url.removesuffix("/graphql")


@pytest.fixture(scope="module")
async def console_pages(firm: Platform) -> list[ConsolePage]:
    return await pages(firm.url, firm.token("admin"))


async def tab(
    browser: Browser, firm: Platform, *roles: str, viewport: ViewportSize = DESKTOP
) -> Page:
    context = await browser.new_context(viewport=viewport, locale="en-US", timezone_id="UTC")
    return await signed_in(context, base(firm), firm.token(*roles))


@pytest.fixture(autouse=True)
async def close_tabs(browser: Browser) -> AsyncIterator[None]:
    yield
    for context in browser.contexts:
        await context.close()


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions (a CSP violation is a console error)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


async def serious_violations(page: Page) -> list[str]:
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_every_page_loads_clean_and_accessible_on_desktop_and_phone(
    browser: Browser, firm: Platform, console_pages: list[ConsolePage]
) -> None:
    page = await tab(browser, firm, "admin")
    assert page.url == base(firm) + "/"  # the #token= fragment is consumed and removed
    errors = watch_errors(page)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.method == "POST" else None)
    for console_page in console_pages:
        await open_page(page, base(firm), console_page.path)
        assert await serious_violations(page) == [], console_page.name
    # Keyboard: the skip link is the first stop, then the navigation.
    await page.keyboard.press("Tab")
    await expect(page.locator("a.skip")).to_be_focused()
    phone = await tab(browser, firm, "admin", viewport=PHONE)
    errors += watch_errors(phone)
    for console_page in console_pages:
        await open_page(phone, base(firm), console_page.path)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{console_page.name} scrolls sideways on a phone"
    assert await serious_violations(phone) == []
    assert errors == []
    assert all(url.startswith(base(firm)) for url in requested)  # nothing from elsewhere
    # Production mode: the console sends the hashes of its trusted documents, never a text.
    assert sent and all(
        "query" not in body and body["extensions"]["persistedQuery"]["version"] == 1
        for body in sent
    ), sent


async def test_a_pasted_token_signs_in_for_this_tab_only(browser: Browser, firm: Platform) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(base(firm) + "/engagements")
    await page.get_by_label("Bearer token").fill(firm.token("finance"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("main[data-state=ready]")).to_have_count(1)
    await expect(page.get_by_role("heading", name="Engagements", level=1)).to_be_visible()
    other_tab = await (await browser.new_context()).new_page()
    await other_tab.goto(base(firm) + "/")
    await expect(other_tab.get_by_label("Bearer token")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Bearer token")).to_be_visible()


async def test_portfolio_shows_the_portfolio_answer_formatted_per_currency(
    browser: Browser, firm: Platform
) -> None:
    query = """query($asOf: Date!, $entity: String) { portfolio(asOf: $asOf, legalEntity: $entity) {
      byCurrency { currency backlog { amount } recognized { amount } billed { amount }
        unbilled { amount } deferred { amount } margin { amount } } } }"""
    page = await tab(browser, firm, "finance")
    for entity in ("UK01", None):
        answer = await gql(firm, query, asOf="2026-10-31", entity=entity)
        path = "/?asOf=2026-10-31" + (f"&entity={entity}" if entity else "")
        await open_page(page, base(firm), path)
        rows = answer["portfolio"]["byCurrency"]
        assert rows
        shown = page.locator("section.currency")
        await expect(shown).to_have_count(len(rows))
        for row in rows:
            section = page.locator(f'section.currency[data-currency="{row["currency"]}"]')
            for figure in ("backlog", "recognized", "billed", "unbilled", "deferred", "margin"):
                cell = section.locator(f'[data-figure="{figure}"] .amount')
                assert await cell.get_attribute("data-amount") == row[figure]["amount"]
                expected = await page.evaluate(
                    "([a, c]) => new Intl.NumberFormat(undefined, "
                    "{style: 'currency', currency: c}).format(a)",
                    [row[figure]["amount"], row["currency"]],
                )
                assert await cell.inner_text() == expected


async def test_a_sales_token_sees_no_cost_or_margin_anywhere(
    browser: Browser, firm: Platform, console_pages: list[ConsolePage]
) -> None:
    page = await tab(browser, firm, "sales")
    for console_page in console_pages:
        await open_page(page, base(firm), console_page.path)
        text = await page.locator("main").inner_text()
        assert "margin" not in text.lower(), console_page.name
        assert "cost" not in text.lower(), console_page.name


@pytest.fixture
async def dead_letter(firm: Platform) -> uuid.UUID:
    return await bury_a_replayable_dead_letter(firm)


async def test_delivery_sees_no_integration_details_nor_replay_and_admin_replays_one(
    browser: Browser, firm: Platform, dead_letter: uuid.UUID
) -> None:
    delivery = await tab(browser, firm, "delivery")
    await open_page(delivery, base(firm), "/integration")
    await expect(
        delivery.get_by_text("Integration health is for admin and finance.")
    ).to_be_visible()
    await expect(delivery.get_by_text("billing-project")).to_have_count(0)
    await expect(delivery.get_by_role("button", name="Replay")).to_have_count(0)
    await expect(delivery.get_by_role("button", name="Discard")).to_have_count(0)

    admin = await tab(browser, firm, "admin")
    await open_page(admin, base(firm), "/integration")
    row = admin.locator(f'tr[data-dead-letter="{dead_letter}"]')
    await expect(row.get_by_role("button", name="Discard")).to_be_visible()
    assert await serious_violations(admin) == []  # with the actions on the page
    await row.get_by_role("button", name="Replay").click()
    await expect(row).to_have_count(0, timeout=15_000)
    await expect(admin.get_by_text("No dead letters.")).to_be_visible()


EXCEPTION = """query($s: String) { integrationExceptions(first: 5, source: $s) {
  edges { node { id status dismissReason } } } }"""


async def test_admin_dismisses_an_integration_exception_with_a_reason_and_sees_endpoints(
    browser: Browser, firm: Platform
) -> None:
    exception = await open_an_integration_exception(firm)
    endpoint = await a_disabled_webhook_endpoint(firm)

    finance = await tab(browser, firm, "finance")
    await open_page(finance, base(firm), "/integration")
    seen = finance.locator(f'tr[data-exception="{exception["id"]}"]')
    await expect(seen).to_contain_text("CHF")
    await expect(seen.get_by_role("button")).to_have_count(0)  # admin manages; finance reads

    admin = await tab(browser, firm, "admin")
    errors = watch_errors(admin)
    await open_page(admin, base(firm), "/integration")
    endpoints = admin.get_by_role("region", name="Webhook endpoints")
    await expect(endpoints.locator(f'tr[data-endpoint="{endpoint}"]')).to_contain_text("disabled")
    row = admin.locator(f'tr[data-exception="{exception["id"]}"]')
    await expect(row).to_have_attribute("data-status", "OPEN")
    await expect(row.get_by_role("button", name="Retry")).to_be_visible()
    # Keyboard: focus Dismiss, press Enter, type the reason, Enter again.
    await row.get_by_role("button", name="Dismiss").focus()
    await admin.keyboard.press("Enter")
    reason = row.get_by_role("textbox")
    await expect(reason).to_be_focused()
    assert await serious_violations(admin) == []  # with the actions and the reason field shown
    await admin.keyboard.type("Swiss franc deal booked by hand")
    await admin.keyboard.press("Enter")
    await expect(row).to_have_attribute("data-status", "DISMISSED")
    await expect(row.get_by_role("button")).to_have_count(0)
    open_rows = admin.locator('tr[data-exception][data-status="OPEN"]')
    await expect(open_rows.and_(row)).to_have_count(0)
    [node] = nodes((await gql(firm, EXCEPTION, s=exception["source"]))["integrationExceptions"])
    assert node["status"] == "DISMISSED"
    assert node["dismissReason"] == "Swiss franc deal booked by hand"
    assert errors == []


async def test_a_time_approval_appears_on_the_open_engagement_timeline_without_reload(
    browser: Browser, firm: Platform
) -> None:
    query = """{ engagements(first: 100) { edges { node { id code
      timeEntries(first: 2, status: SUBMITTED) { edges { node { id } } } } } } }"""
    nodes = [e["node"] for e in (await gql(firm, query))["engagements"]["edges"]]
    engagement = next(n for n in nodes if n["timeEntries"]["edges"])
    page = await tab(browser, firm, "delivery")
    await open_page(page, base(firm), f"/engagements/{engagement['id']}")
    await expect(page.locator('[data-live="live"]')).to_have_count(1)
    approvals = page.locator(f'.timeline li[data-type="{APPROVED}"]')
    before = await approvals.count()
    await page.evaluate("window.stillTheSamePage = true")

    entry = engagement["timeEntries"]["edges"][0]["node"]["id"]
    await gql(firm, "mutation($ids: [ID!]!) { approveTime(ids: $ids) { id } }", ids=[entry])

    await expect(approvals).to_have_count(before + 1, timeout=15_000)
    assert await page.evaluate("window.stillTheSamePage === true")
    # The step names who did it (firm's token is the admin "e2e"; the audit trail's actor).
    mine = page.locator(f'.timeline li[data-type="{APPROVED}"][data-actor="e2e"]')
    await expect(mine.locator(".actor").first).to_have_text("by e2e")


async def test_viewer_and_dead_letters_over_graphql_follow_the_roles(firm: Platform) -> None:
    viewer = "{ viewer { roles entities seesCosts mutations } }"
    sales = (await post(firm, viewer, headers=firm.as_("sales", entities=["UK01"])))["data"]
    assert sales["viewer"] == {
        "roles": ["sales"],
        "entities": ["UK01"],
        "seesCosts": False,
        "mutations": ["closeWonOpportunity", "updateCustomer"],
    }
    admin = (await gql(firm, viewer))["viewer"]
    assert {"replayDeadLetters", "discardDeadLetters", "runBilling"} <= set(admin["mutations"])

    listed = await post(firm, "{ deadLetters { id } }", headers=firm.as_("delivery"))
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    scoped = await post(
        firm, "{ deadLetters { id } }", headers=firm.as_("finance", entities=["US01"])
    )
    assert scoped["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    replay = 'mutation($ids: [ID!]!) { replayDeadLetters(service: "billing", ids: $ids) }'
    ids = [str(uuid.uuid4())]
    refused = await post(firm, replay, headers=firm.as_("finance"), ids=ids)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(firm, replay, ids=ids))["replayDeadLetters"] == 0  # none pending by that id
    bad = await post(firm, 'mutation { discardDeadLetters(service: "billing", ids: ["x"]) }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = await post(firm, 'mutation { discardDeadLetters(service: "nope", ids: []) }')
    assert unknown["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
