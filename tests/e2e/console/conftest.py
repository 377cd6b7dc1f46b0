"""The console's browser tests: the whole platform with the demo firm, and one Chromium."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from devstack.demo import seed
from tests.e2e.console.browser import MISSING, chromium_path, launched
from tests.e2e.platform import Platform

# Conditions, never sleeps; the bound is generous because the machine is shared (2 cores).
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def chromium() -> Path:
    found = chromium_path()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{MISSING} (under CI a missing browser fails, it does not skip)")
        pytest.skip(MISSING)
    return found


@pytest.fixture(scope="module")
async def firm(api: Platform, chromium: Path) -> Platform:
    """The demo firm, seeded through GraphQL as `weftwork demo` does."""
    await seed(api.url, api.token("admin"))
    return api


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with launched(chromium) as b:
        yield b
