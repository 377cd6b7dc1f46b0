"""Session-wide real PostgreSQL and NATS JetStream: the embedded wheels unless env says otherwise.

WEFTWORK_DATABASE_URL (a server URL; tests create their own databases on it) and
WEFTWORK_NATS_URL select existing servers; otherwise both start from the PyPI wheels in a
temporary directory (PostgreSQL on a unix socket, NATS on a port it picks itself), and stop
when the session ends. The embedded NATS has the local stack's users: `nats_url` is the
operator's, and tests.support hands each service its own (devstack.nats_users.user_url).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesh.settings import local_socket_dir


@dataclass(frozen=True)
class Stack:
    database_url: str  # server URL (database "postgres"); use mesh.settings.with_database
    nats_url: str  # the operator's: every subject (devstack.nats_users)
    data_dir: Path


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    from devstack.nats import EmbeddedNats
    from devstack.postgres import EmbeddedPostgres

    # Not under pytest's tmp dir: each pytest session resets it to 0700, which locks out the
    # unprivileged user PostgreSQL runs as when we are root.
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-stack-"))
    postgres = nats = None
    database_url = os.environ.get("WEFTWORK_DATABASE_URL")
    nats_url = os.environ.get("WEFTWORK_NATS_URL")
    try:
        if not database_url:
            postgres = EmbeddedPostgres(data_dir / "postgres", local_socket_dir(data_dir))
            database_url = postgres.start()
        if not nats_url:
            nats = EmbeddedNats(data_dir / "nats")
            nats_url = nats.start()
        yield Stack(database_url=database_url, nats_url=nats_url, data_dir=data_dir)
    finally:
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def module_nats() -> Iterator[str]:
    """A NATS server of the test module's own: its durable consumers and streams see only its
    own events, so service tests in one session never share (or steal) messages."""
    from devstack.nats import EmbeddedNats

    store = Path(tempfile.mkdtemp(prefix="weftwork-nats-"))
    nats = EmbeddedNats(store)
    try:
        yield nats.start()
    finally:
        nats.stop()
        shutil.rmtree(store, ignore_errors=True)
