"""Debian's Chromium driven by Playwright (never a Playwright browser download), for tests,
screenshots and the console benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, async_playwright

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
MISSING = (
    "browser tests need Debian's chromium (`apt-get install -y chromium`, run by `make "
    "browser-tools`) or WEFTWORK_CHROMIUM=<path>; none found"
)


def chromium_path() -> Path | None:
    """WEFTWORK_CHROMIUM, else the Debian package's binary, else any chromium on PATH."""
    configured = os.environ.get("WEFTWORK_CHROMIUM")
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    found = shutil.which("chromium")
    return Path(found) if found else None


@contextlib.asynccontextmanager
async def launched(executable: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable),
            headless=True,
            # Root in a container has no user namespaces for Chromium's sandbox.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            await browser.close()
