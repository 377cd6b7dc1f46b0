"""Fixtures of the end-to-end modules: the whole platform (one per module), a private NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack.nats import EmbeddedNats
from tests.conftest import Stack
from tests.e2e.platform import Platform, running_platform


@pytest.fixture(scope="module")
async def api(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    # With connect: integrationStatus and the dead letters ask every service, connect too.
    async with running_platform(
        stack.database_url, module_nats, tmp_path_factory.mktemp("platform"), connect=True
    ) as p:
        yield p


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A NATS of this test's own, which the test may kill and restart."""
    server = EmbeddedNats(tmp_path / "nats")  # a restart keeps the port it got
    server.start()
    yield server
    server.stop()
