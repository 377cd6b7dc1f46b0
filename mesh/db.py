"""One asyncpg pool per service database, created if missing; transactions retried on conflicts."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import asyncpg

from mesh.audit import scope as audit
from mesh.audit.log import record
from mesh.dsn import with_database
from mesh.retry import retry

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Transactor(Protocol[R_co]):
    """Runs a use case with a repository of type R_co; returns what the use case returns."""

    def __call__(self, work: Callable[[R_co], Awaitable[T]]) -> Awaitable[T]: ...


log = logging.getLogger(__name__)

# serialization_failure and deadlock_detected: the transaction can be run again as a whole.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
STARTUP_ATTEMPTS = 10  # backoff 0.2 s doubling, capped at 5 s: ~30 s of waiting at most


def is_retryable(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) in RETRYABLE_SQLSTATES


# Infrastructure failures that a retry may cure (gRPC answers UNAVAILABLE; consumers redeliver
# without counting towards dead-lettering). PostgreSQL
# starting up (57P03) or shutting down (57P01, 57P02) answers with a server error rather than
# dropping the connection, and a full connection table (53300) clears as sessions end.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; asyncio's TimeoutError (a pool acquire) too
    asyncpg.PostgresConnectionError,  # class 08, e.g. ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# asyncpg's InterfaceError is also how it reports misuse and bad query input (its DataError),
# which no retry cures: only a connection or pool that is closed, or closing, is transient
# ("connection is closed"; "cannot call Transaction.__aexit__(): the underlying connection is
# closed", when the connection broke inside a transaction; "pool is closing" at shutdown).
_CLOSED_CONNECTION = "connection is closed"
_CLOSED_POOL = ("pool is closed", "pool is closing")


def is_transient(exc: BaseException) -> bool:
    """True when the error is the database or a peer being away, so a retry may succeed."""
    if isinstance(exc, _TRANSIENT):
        return True
    if not isinstance(exc, asyncpg.InterfaceError):
        return False
    message = str(exc)
    return message.endswith(_CLOSED_CONNECTION) or message.startswith(_CLOSED_POOL)


def database_name(dsn: str) -> str:
    tail = dsn.split("://", 1)[1].partition("/")[2]
    return tail.partition("?")[0] or "postgres"


async def ensure_database(dsn: str) -> None:
    """Create the DSN's database if it is missing (safe to race: a duplicate is ignored)."""
    name = database_name(dsn)
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        log.info("created database", extra={"database": name})
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        pass  # a racing creator won; two creators can also meet on pg_database's unique index
    finally:
        await admin.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Replaces asyncpg's reset query on release (advisory unlock, CLOSE ALL, UNLISTEN, RESET
    ALL), one more round trip per use of a connection. Nothing here leaves session state: asyncpg
    still rolls back a transaction left open, our locks are transaction-scoped except the
    migration lock (released in a finally), Wakeup UNLISTENs, and nothing SETs a session
    variable."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """The service's pool. A database that is starting up, shutting down or not answering yet
    is waited for (about half a minute at most) rather than ending the service's start: a
    process restarted during a PostgreSQL restart exited on "the database system is starting
    up" (fault suite, cluster mode)."""
    await retry(
        lambda: ensure_database(dsn), retry_on=is_transient, attempts=STARTUP_ATTEMPTS, base=0.2
    )
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session
    )
    assert pool is not None
    return pool


async def in_transaction(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    isolation: str = "read_committed",
    attempts: int = 5,
) -> T:
    """Run work(conn) in one transaction, rerun whole on serialization failures and deadlocks.

    Inside a gRPC call (an audit scope, mesh.audit), a transaction that wrote anything also
    writes its audit row before it commits."""

    async def once() -> T:
        scope = audit.current()
        async with pool.acquire() as conn, conn.transaction(isolation=isolation):
            if scope is not None:
                scope.written.clear()  # a rerun starts again
            result = await work(conn)
            if scope is not None and scope.event_id is None:  # consumers record per event
                await record(conn, scope)
            return result

    return await retry(once, retry_on=is_retryable, attempts=attempts)


async def on_connection(
    pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """Run a read on one pooled connection outside a transaction. At READ COMMITTED every
    statement takes its own snapshot either way, so BEGIN and COMMIT would add two round trips
    and nothing else; a read that needs one snapshot for several statements uses
    in_transaction(isolation="repeatable_read") instead."""
    async with pool.acquire() as conn:
        return await work(conn)


def transactor(
    pool: asyncpg.Pool,
    repository: Callable[[asyncpg.Connection], R],
    *,
    read_only: bool = False,
    isolation: str = "read_committed",
) -> Transactor[R]:
    """A service's unit of work: runs a use case with its repository bound to one transaction
    (rerun on conflicts), or a read_only one on a connection without a transaction."""

    async def transact(work: Callable[[R], Awaitable[T]]) -> T:
        def bound(conn: asyncpg.Connection) -> Awaitable[T]:
            return work(repository(conn))

        if read_only:
            return await on_connection(pool, bound)
        return await in_transaction(pool, bound, isolation=isolation)

    return transact
