"""Reading receipts and exceptions, and acting on exceptions: retry or dismiss."""

from __future__ import annotations

import uuid

from mesh.errors import InvalidArgument, NotFound
from services.connect.domain.model import (
    ExceptionResolved,
    ExceptionStatus,
    IntegrationException,
    Receipt,
)
from services.connect.handlers.ports import ConnectRepository, Cursor

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


def page_limit(page_size: int) -> int:
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument.one("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return page_size or DEFAULT_PAGE_SIZE


async def list_receipts(
    repo: ConnectRepository, *, source: str | None, after: Cursor | None, page_size: int
) -> tuple[list[Receipt], Cursor | None]:
    limit = page_limit(page_size)
    rows = await repo.receipts_page(source=source, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].received_at, rows[-1].id) if more and rows else None)


async def list_exceptions(
    repo: ConnectRepository,
    *,
    source: str | None,
    status: ExceptionStatus | None,
    after: Cursor | None,
    page_size: int,
) -> tuple[list[IntegrationException], Cursor | None]:
    limit = page_limit(page_size)
    rows = await repo.exceptions_page(source=source, status=status, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].created_at, rows[-1].id) if more and rows else None)


async def _locked(repo: ConnectRepository, exception_id: uuid.UUID) -> IntegrationException:
    found = await repo.get_exception(exception_id, for_update=True)
    if found is None:
        raise NotFound("integration exception", str(exception_id))
    return found


async def retry_exception(repo: ConnectRepository, exception_id: uuid.UUID) -> IntegrationException:
    """OPEN -> RETRIED and its receipt back in the queue; the worker settles the rest."""
    exception = await _locked(repo, exception_id)
    if exception.retry():
        await repo.update_exception(exception)
        await repo.requeue_receipt(exception.receipt_id)
    return exception


async def dismiss_exception(
    repo: ConnectRepository, exception_id: uuid.UUID, reason: str
) -> IntegrationException:
    exception = await _locked(repo, exception_id)
    if exception.dismiss(reason):
        await repo.update_exception(exception)
        await repo.emit(ExceptionResolved(exception))
    return exception
