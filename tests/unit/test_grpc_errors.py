"""The error mapping: a dependency that is away is UNAVAILABLE (retry), a conflict ABORTED, a bug
INTERNAL."""

from __future__ import annotations

import asyncpg
import grpc
import pytest

from mesh.errors import NotFound
from mesh.grpc.errors import _guard


class _Context:
    """What the error mapping needs of a grpc.aio servicer context."""

    code: grpc.StatusCode | None = None

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code

    async def abort_with_status(self, status: grpc.Status) -> None:
        self.code = status.code


async def _status_of(error: Exception) -> grpc.StatusCode | None:
    async def handler(request: object, context: object) -> None:
        raise error

    context = _Context()
    await _guard(handler, "/weftwork.test.v1.Test/Call")(None, context)
    return context.code


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.CannotConnectNowError("the database system is in recovery mode"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection because of crash of another process"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("connection is closed"),
        # What a transaction's exit raises after the connection broke inside it.
        asyncpg.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection is closed"
        ),
        asyncpg.InterfaceError("pool is closing"),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
    ],
    ids=repr,
)
async def test_a_dependency_that_is_away_is_unavailable(error: Exception) -> None:
    assert await _status_of(error) == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UndefinedColumnError('column "nope" does not exist'),
        asyncpg.DatabaseDroppedError("database is being dropped"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        asyncpg.InterfaceError(
            "cannot call Connection.fetch(): the underlying connection has been released back"
            " to the pool"
        ),
        asyncpg.exceptions.DataError("invalid input for query argument $1: 'x' (an int)"),
        KeyError("bug"),
    ],
    ids=repr,
)
async def test_a_bug_is_internal_not_unavailable(error: Exception) -> None:
    """A retry cannot cure these, so the caller must not be told to retry."""
    assert await _status_of(error) == grpc.StatusCode.INTERNAL


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.SerializationError("could not serialize access due to concurrent update"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
    ],
    ids=repr,
)
async def test_a_conflict_that_outlasted_its_reruns_is_aborted(error: Exception) -> None:
    """ABORTED: the caller may retry the whole operation (gRPC's code for concurrency
    conflicts), and it is not logged as a bug."""
    assert await _status_of(error) == grpc.StatusCode.ABORTED


async def test_a_domain_error_keeps_its_own_code() -> None:
    assert await _status_of(NotFound("invoice", "x")) == grpc.StatusCode.NOT_FOUND
