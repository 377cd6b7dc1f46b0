"""The platform with the demo firm, outside pytest: for `make screenshots` and trying pages."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.demo import seed
from mesh.settings import local_socket_dir
from mesh.stack.nats import EmbeddedNats
from mesh.stack.postgres import EmbeddedPostgres
from tests.conftest import free_port
from tests.e2e.platform import Platform, running_platform


@contextlib.asynccontextmanager
async def running_firm() -> AsyncIterator[Platform]:
    """Embedded PostgreSQL and NATS in a temporary directory, the platform, the demo seeded."""
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-console-"))
    postgres = EmbeddedPostgres(data_dir / "postgres", local_socket_dir(data_dir))
    nats = EmbeddedNats(data_dir / "nats", port=free_port())
    try:
        database_url = postgres.start()
        nats_url = nats.start()
        async with running_platform(database_url, nats_url, data_dir / "platform") as platform:
            await seed(platform.url, platform.token("admin"))
            yield platform
    finally:
        nats.stop()
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
