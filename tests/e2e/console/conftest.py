"""The console's browser tests: the whole platform with the demo firm, and one Chromium."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from devstack.demo import seed
from gateway.app import create_app
from tests.conftest import Stack
from tests.e2e.console.browser import MISSING, chromium_path, launched
from tests.e2e.platform import Platform, running_platform
from tests.support import as_nats_user, serving_http

# Conditions, never sleeps; the bound is generous because the machine is shared (2 cores).
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
async def api(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """The platform with connect too: Integration health shows its exceptions and webhooks."""
    async with running_platform(
        stack.database_url, module_nats, tmp_path_factory.mktemp("platform"), connect=True
    ) as p:
        yield p


@pytest.fixture(scope="module")
def chromium() -> Path:
    found = chromium_path()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{MISSING} (under CI a missing browser fails, it does not skip)")
        pytest.skip(MISSING)
    return found


@pytest.fixture(scope="module")
async def firm(api: Platform, chromium: Path) -> AsyncIterator[Platform]:
    """The demo firm, seeded through GraphQL as `weftwork demo` does; the console served by a
    second gateway in production mode, which runs the console's trusted documents only."""
    await seed(api.url, api.token("admin"))
    settings = dataclasses.replace(api.settings, gateway_any_document=False)
    async with serving_http(create_app(as_nats_user(settings, "gateway"))) as port:
        yield dataclasses.replace(api, console=f"http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with launched(chromium) as b:
        yield b
