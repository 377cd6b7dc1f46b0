"""Numbered SQL migrations: applied once, recorded, safe when two replicas start together."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from mesh.db import create_pool
from mesh.migrations import MigrationError, migrate
from mesh.settings import with_database
from tests.conftest import Stack


async def _fresh_pool(stack: Stack) -> asyncpg.Pool:
    return await create_pool(with_database(stack.database_url, f"t_mig_{uuid.uuid4().hex[:10]}"))


def _write(directory: Path, name: str, sql: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(sql)


async def test_migrations_apply_once_in_order_and_are_recorded(
    stack: Stack, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    _write(tmp_path, "0002_more.sql", "INSERT INTO things VALUES (1);")
    pool = await _fresh_pool(stack)
    async with pool.acquire() as conn:
        assert await migrate(conn, [("svc", tmp_path)]) == [
            "svc/0001_things.sql",
            "svc/0002_more.sql",
        ]
        assert await migrate(conn, [("svc", tmp_path)]) == []
        assert await conn.fetchval("SELECT count(*) FROM things") == 1
        recorded = await conn.fetch(
            "SELECT component, version FROM schema_migrations ORDER BY version"
        )
        assert [(r["component"], r["version"]) for r in recorded] == [("svc", 1), ("svc", 2)]
    await pool.close()


async def test_two_replicas_migrating_together_apply_each_file_once(
    stack: Stack, tmp_path: Path
) -> None:
    # A slow migration widens the window in which a second replica would double-apply.
    _write(tmp_path, "0001_slow.sql", "SELECT pg_sleep(0.5); CREATE TABLE once (id int);")
    _write(tmp_path, "0002_row.sql", "INSERT INTO once VALUES (1);")
    pool = await _fresh_pool(stack)

    async def replica() -> list[str]:
        async with pool.acquire() as conn:
            return await migrate(conn, [("svc", tmp_path)])

    first, second = await asyncio.gather(replica(), replica())
    assert sorted(first + second) == ["svc/0001_slow.sql", "svc/0002_row.sql"]
    assert await pool.fetchval("SELECT count(*) FROM once") == 1
    await pool.close()


async def test_a_failing_migration_leaves_nothing_half_applied(
    stack: Stack, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_bad.sql", "CREATE TABLE half (id int); SELECT no_such_function();")
    pool = await _fresh_pool(stack)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, [("svc", tmp_path)])
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 0
    await pool.close()


async def test_an_applied_migration_that_was_edited_is_refused(
    stack: Stack, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int);")
    pool = await _fresh_pool(stack)
    async with pool.acquire() as conn:
        await migrate(conn, [("svc", tmp_path)])
        _write(tmp_path, "0001_t.sql", "CREATE TABLE t (id bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, [("svc", tmp_path)])
    await pool.close()


async def test_badly_named_files_are_refused(stack: Stack, tmp_path: Path) -> None:
    _write(tmp_path, "create_things.sql", "SELECT 1;")
    pool = await _fresh_pool(stack)
    async with pool.acquire() as conn:
        with pytest.raises(MigrationError, match=r"0001_create_things\.sql"):
            await migrate(conn, [("svc", tmp_path)])
    await pool.close()
