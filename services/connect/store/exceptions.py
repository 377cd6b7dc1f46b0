"""SQL of integration exceptions."""

from __future__ import annotations

import uuid

import asyncpg

from services.connect.domain.model import ExceptionStatus, IntegrationException
from services.connect.handlers.ports import Cursor

_COLUMNS = """id, source, receipt_id, external_id, reason, payload, status, dismiss_reason,
              engagement_id, retries, version, created_at, updated_at"""


def _exception(row: asyncpg.Record) -> IntegrationException:
    return IntegrationException(
        id=row["id"],
        source=row["source"],
        receipt_id=row["receipt_id"],
        external_id=row["external_id"],
        reason=row["reason"],
        payload=row["payload"],
        status=ExceptionStatus(row["status"]),
        dismiss_reason=row["dismiss_reason"],
        engagement_id=row["engagement_id"],
        retries=row["retries"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ExceptionRows:
    conn: asyncpg.Connection

    async def get_exception(
        self, exception_id: uuid.UUID, *, for_update: bool = False
    ) -> IntegrationException | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM integration_exceptions WHERE id = $1{lock}", exception_id
        )
        return _exception(row) if row else None

    async def add_exception(self, e: IntegrationException) -> None:
        await self.conn.execute(
            f"""INSERT INTO integration_exceptions ({_COLUMNS})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
            e.id,
            e.source,
            e.receipt_id,
            e.external_id,
            e.reason,
            e.payload,
            e.status.value,
            e.dismiss_reason,
            e.engagement_id,
            e.retries,
            e.version,
            e.created_at,
            e.updated_at,
        )

    async def update_exception(self, e: IntegrationException) -> None:
        await self.conn.execute(
            """UPDATE integration_exceptions SET reason = $2, status = $3, dismiss_reason = $4,
                      engagement_id = $5, retries = $6, version = $7, updated_at = $8
                WHERE id = $1""",
            e.id,
            e.reason,
            e.status.value,
            e.dismiss_reason,
            e.engagement_id,
            e.retries,
            e.version,
            e.updated_at,
        )

    async def exceptions_page(
        self,
        *,
        source: str | None,
        status: ExceptionStatus | None,
        after: Cursor | None,
        limit: int,
    ) -> list[IntegrationException]:
        at, after_id = after if after else (None, None)
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM integration_exceptions
                 WHERE ($1::text IS NULL OR source = $1)
                   AND ($2::text IS NULL OR status = $2)
                   AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
                 ORDER BY created_at DESC, id DESC LIMIT $5""",
            source,
            status.value if status else None,
            at,
            after_id,
            limit,
        )
        return [_exception(row) for row in rows]
