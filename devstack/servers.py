"""The embedded servers the settings ask for, as context managers that stop what they start."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

from devstack.nats import EmbeddedNats
from devstack.postgres import EmbeddedPostgres
from devstack.process import reserve_port
from mesh.settings import Settings, local_socket_dir


def embedded_postgres(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.data_dir / "postgres", local_socket_dir(settings.data_dir))


def embedded_nats(settings: Settings) -> EmbeddedNats:
    return EmbeddedNats(settings.data_dir / "nats", port=settings.nats_port)


@contextlib.contextmanager
def local_postgres(settings: Settings, *, reuse_running: bool = False) -> Iterator[Settings]:
    """Settings whose database_url reaches a live server, starting the embedded one if asked.

    With reuse_running, an embedded server already running on the data directory (say,
    under `weftwork up`) is used as it is and left running.
    """
    if not settings.embedded_postgres:
        yield settings
        return
    postgres = embedded_postgres(settings)
    if reuse_running and postgres.running_pid() is not None:
        yield replace(settings, database_url=postgres.dsn)
        return
    dsn = postgres.start()
    try:
        yield replace(settings, database_url=dsn)
    finally:
        postgres.stop()


def with_local_nats_credentials(settings: Settings) -> Settings:
    """For tools beside a running `weftwork up` (status): the embedded NATS's operator URL,
    whose password is in the data dir. Any other settings as they are."""
    nats = embedded_nats(settings)
    if not settings.embedded_nats or not settings.nats_port:
        return settings
    if not (nats.store_dir / "operator-password").exists():
        return settings  # never started here: nothing to authenticate to
    return replace(settings, nats_url=nats.url)


@contextlib.contextmanager
def local_nats(settings: Settings) -> Iterator[Settings]:
    """Settings whose nats_url reaches a live server, starting the embedded one if asked."""
    if not settings.embedded_nats:
        yield settings
        return
    nats = embedded_nats(settings)
    url = nats.start()
    try:
        yield replace(settings, nats_url=url)
    finally:
        nats.stop()


@contextlib.contextmanager
def reserved_ports(settings: Settings) -> Iterator[Settings]:
    """Settings in which each gRPC and gateway port configured as 0 is a free port held for the
    child that listens on it (devstack.process.reserve_port) until the exit: the children
    know each other's ports from the start, and a restarted child binds its port again."""
    with contextlib.ExitStack() as held:

        def port(configured: int) -> int:
            if configured:
                return configured
            return int(held.enter_context(reserve_port(settings.host)).getsockname()[1])

        grpc_ports = {name: port(number) for name, number in settings.grpc_ports.items()}
        yield replace(settings, grpc_ports=grpc_ports, gateway_port=port(settings.gateway_port))
