"""The platform fixture shared by the gateway end-to-end modules (one platform per module)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Stack
from tests.e2e.platform import Platform, running_platform


@pytest.fixture(scope="module")
async def api(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    async with running_platform(
        stack.database_url, module_nats, tmp_path_factory.mktemp("platform")
    ) as p:
        yield p
