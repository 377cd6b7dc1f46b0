"""`make screenshots`: every console page at 1280x800 and 390x844, into docs/console/.

    python -m tests.e2e.console.screenshots

Starts the platform with the demo firm (embedded PostgreSQL and NATS), signs in as admin (who
sees every figure and action), and writes <page>-desktop.png and <page>-phone.png.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import Browser

from tests.e2e.console.browser import MISSING, chromium_path, launched
from tests.e2e.console.firm import (
    a_disabled_webhook_endpoint,
    bury_a_replayable_dead_letter,
    open_an_integration_exception,
    running_firm,
)
from tests.e2e.console.pages import DESKTOP, PHONE, open_page, pages, signed_in

OUT = Path(__file__).resolve().parents[3] / "docs" / "console"


async def shoot(browser: Browser, graphql_url: str, token: str, out: Path) -> list[Path]:
    base = graphql_url.removesuffix("/graphql")
    written: list[Path] = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = await browser.new_context(
            viewport=viewport,
            locale="en-US",
            timezone_id="UTC",
            device_scale_factor=1,
            is_mobile=label == "phone",
            has_touch=label == "phone",
        )
        page = await signed_in(context, base, token)
        for console_page in await pages(graphql_url, token):
            await open_page(page, base, console_page.path)
            path = out / f"{console_page.name}-{label}.png"
            # The whole page on a desktop; on a phone, the first screen, as a person sees it.
            await page.screenshot(path=str(path), full_page=label == "desktop")
            written.append(path)
        await context.close()
    return written


async def main() -> None:
    executable = chromium_path()
    if executable is None:
        sys.exit(MISSING)
    OUT.mkdir(parents=True, exist_ok=True)
    async with running_firm() as platform, launched(executable) as browser:
        # So Integration health shows one of each.
        await bury_a_replayable_dead_letter(platform)
        await open_an_integration_exception(platform)
        await a_disabled_webhook_endpoint(platform)
        for path in await shoot(browser, platform.url, platform.token("admin"), OUT):
            print(path.relative_to(OUT.parents[1]))


if __name__ == "__main__":
    asyncio.run(main())
