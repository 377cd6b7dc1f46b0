"""Numbered plain-SQL migrations, applied once each, recorded, under an advisory lock."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

KIT_MIGRATIONS = Path(__file__).parent / "events" / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# One lock id for every migrator of a database: two replicas starting together take turns.
_LOCK_ID = 0x7765667477  # "weftw"


class MigrationError(RuntimeError):
    """A migration file is malformed, or an applied one was edited afterwards."""


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(component: str, directory: Path) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration names look like 0001_create_things.sql")
        found.append(Migration(component, int(match.group(1)), path.name, path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{directory}: two migrations share a number")
    return found


async def migrate(conn: asyncpg.Connection, components: list[tuple[str, Path]]) -> list[str]:
    """Apply every pending migration of each (component, directory), in order; returns what ran."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                component  text        NOT NULL,
                version    integer     NOT NULL,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            )
            """
        )
        rows = await conn.fetch("SELECT component, version, name, checksum FROM schema_migrations")
        done = {(r["component"], r["version"]): r for r in rows}
        for component, directory in components:
            for migration in discover(component, directory):
                previous = done.get((component, migration.version))
                if previous is not None:
                    if previous["checksum"] != migration.checksum:
                        raise MigrationError(
                            f"{component}/{migration.name} changed after it was applied; "
                            "add a new migration instead"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version, name, checksum)"
                        " VALUES ($1, $2, $3, $4)",
                        component,
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                log.info(
                    "applied migration", extra={"component": component, "migration": migration.name}
                )
                applied_now.append(f"{component}/{migration.name}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied_now


def service_components(service: str, service_dir: Path) -> list[tuple[str, Path]]:
    """The kit's own tables (outbox, inbox, dead letters) first, then the service's."""
    return [("mesh", KIT_MIGRATIONS), (service, service_dir / "migrations")]
