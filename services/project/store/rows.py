"""What every part of the store shares: the connection, and advisory lock keys."""

from __future__ import annotations

import hashlib

import asyncpg

from services.project.handlers import Lock


def advisory_key(*parts: str) -> int:
    """A stable signed 64-bit key (Python's hash() differs per process)."""
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Rows:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock_keys(self, keys: list[int], *, shared: bool = False) -> None:
        """Transaction-scoped advisory locks, taken in ascending order so waits never cycle."""
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        # unnest yields the array in order, and the aggregate takes the locks one by one.
        await self.conn.execute(
            f"SELECT count({function}(k)) FROM unnest($1::bigint[]) AS k", sorted(set(keys))
        )


def lock_clause(lock: Lock, table: str) -> str:
    """The row lock of a SELECT on `table` (one of several joined), or nothing."""
    return f"{lock.value} OF {table}" if lock is not Lock.NONE else ""
