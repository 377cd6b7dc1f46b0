"""Fixtures of the connect end-to-end modules: one stack per module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Stack
from tests.e2e.connect.stack import ConnectStack, running_connect_stack


@pytest.fixture(scope="module")
async def connect_stack(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConnectStack]:
    async with running_connect_stack(
        stack.database_url, module_nats, tmp_path_factory.mktemp("connect")
    ) as running:
        yield running
