"""Apply each present service's migrations (the kit's tables, then its own) to its database."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from devstack.entrypoints import service_dir
from mesh.db import ensure_database
from mesh.migrations import migrate, service_components
from mesh.settings import Settings


async def migrate_services(settings: Settings, services: Sequence[str]) -> dict[str, list[str]]:
    """Migrate each service's database in turn; returns what was applied, per service."""
    applied: dict[str, list[str]] = {}
    for name in services:
        components = service_components(name, service_dir(name))
        dsn = settings.database_url_for(name)
        await ensure_database(dsn)
        conn = await asyncpg.connect(dsn)
        try:
            applied[name] = await migrate(conn, components)
        finally:
            await conn.close()
    return applied


def describe(applied: dict[str, list[str]]) -> list[str]:
    return [
        f"{name}: applied {', '.join(done)}" if done else f"{name}: up to date"
        for name, done in applied.items()
    ]
