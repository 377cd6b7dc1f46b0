"""SQL of webhook endpoints and CRM write-back settings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

from services.connect.domain.webhooks import WebhookEndpoint
from services.connect.domain.writeback import CrmKind, CrmWriteBack

_ENDPOINT = """SELECT id, url, description, event_types, legal_entities, secret, previous_secret,
                      previous_expires_at, enabled, disabled_reason, failing_since, version,
                      created_at, updated_at FROM webhook_endpoints"""
_WRITEBACK = """SELECT id, source, kind, base_url, token, fields, api_version, enabled, version,
                       created_at, updated_at FROM crm_writebacks"""


def _endpoint(row: asyncpg.Record) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        event_types=list(row["event_types"]),
        legal_entities=list(row["legal_entities"]),
        secret=bytes(row["secret"]),
        previous_secret=bytes(row["previous_secret"]) if row["previous_secret"] else None,
        previous_expires_at=row["previous_expires_at"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        failing_since=row["failing_since"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _writeback(row: asyncpg.Record) -> CrmWriteBack:
    return CrmWriteBack(
        id=row["id"],
        source=row["source"],
        kind=CrmKind(row["kind"]),
        base_url=row["base_url"],
        token=bytes(row["token"]),
        fields=dict(row["fields"]),
        api_version=row["api_version"],
        enabled=row["enabled"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class EndpointRows:
    conn: asyncpg.Connection

    async def add_endpoint(self, e: WebhookEndpoint) -> None:
        await self.conn.execute(
            """INSERT INTO webhook_endpoints (id, url, description, event_types, legal_entities,
                   secret, enabled, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            e.id,
            e.url,
            e.description,
            e.event_types,
            e.legal_entities,
            e.secret,
            e.enabled,
            e.version,
            e.created_at,
            e.updated_at,
        )

    async def update_endpoint(self, e: WebhookEndpoint) -> None:
        await self.conn.execute(
            """UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4,
                      legal_entities = $5, secret = $6, previous_secret = $7,
                      previous_expires_at = $8, enabled = $9, disabled_reason = $10,
                      failing_since = $11, version = $12, updated_at = $13
                WHERE id = $1""",
            e.id,
            e.url,
            e.description,
            e.event_types,
            e.legal_entities,
            e.secret,
            e.previous_secret,
            e.previous_expires_at,
            e.enabled,
            e.disabled_reason,
            e.failing_since,
            e.version,
            e.updated_at,
        )

    async def get_endpoint(
        self, endpoint_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"{_ENDPOINT} WHERE id = $1{lock}", endpoint_id)
        return _endpoint(row) if row else None

    async def get_endpoints(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WebhookEndpoint]:
        if not ids:
            return {}
        rows = await self.conn.fetch(f"{_ENDPOINT} WHERE id = ANY($1::uuid[])", list(set(ids)))
        return {row["id"]: _endpoint(row) for row in rows}

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        rows = await self.conn.fetch(f"{_ENDPOINT} ORDER BY created_at, id")
        return [_endpoint(row) for row in rows]

    async def enabled_endpoints(self) -> list[WebhookEndpoint]:
        rows = await self.conn.fetch(f"{_ENDPOINT} WHERE enabled ORDER BY created_at, id")
        return [_endpoint(row) for row in rows]

    async def delete_endpoint(self, endpoint_id: uuid.UUID) -> bool:
        await self.conn.execute("DELETE FROM deliveries WHERE target_id = $1", endpoint_id)
        done = await self.conn.execute("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)
        return bool(done != "DELETE 0")

    async def note_endpoint_attempt(
        self, endpoint_id: uuid.UUID, *, delivered: bool
    ) -> dt.datetime | None:
        if delivered:
            await self.conn.execute(
                """UPDATE webhook_endpoints SET failing_since = NULL
                    WHERE id = $1 AND failing_since IS NOT NULL""",
                endpoint_id,
            )
            return None
        since: dt.datetime | None = await self.conn.fetchval(
            """UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
                WHERE id = $1 RETURNING failing_since""",
            endpoint_id,
        )
        return since

    async def add_writeback(self, w: CrmWriteBack) -> None:
        await self.conn.execute(
            """INSERT INTO crm_writebacks (id, source, kind, base_url, token, fields, api_version,
                   enabled, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11)""",
            w.id,
            w.source,
            w.kind.value,
            w.base_url,
            w.token,
            w.fields,
            w.api_version,
            w.enabled,
            w.version,
            w.created_at,
            w.updated_at,
        )

    async def update_writeback(self, w: CrmWriteBack) -> None:
        await self.conn.execute(
            """UPDATE crm_writebacks SET kind = $2, base_url = $3, token = $4, fields = $5::jsonb,
                      api_version = $6, enabled = $7, version = $8, updated_at = $9
                WHERE id = $1""",
            w.id,
            w.kind.value,
            w.base_url,
            w.token,
            w.fields,
            w.api_version,
            w.enabled,
            w.version,
            w.updated_at,
        )

    async def get_writeback(self, source: str, *, for_update: bool = False) -> CrmWriteBack | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"{_WRITEBACK} WHERE source = $1{lock}", source)
        return _writeback(row) if row else None

    async def get_writebacks(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CrmWriteBack]:
        if not ids:
            return {}
        rows = await self.conn.fetch(f"{_WRITEBACK} WHERE id = ANY($1::uuid[])", list(set(ids)))
        return {row["id"]: _writeback(row) for row in rows}

    async def list_writebacks(self) -> list[CrmWriteBack]:
        return [_writeback(row) for row in await self.conn.fetch(f"{_WRITEBACK} ORDER BY source")]
