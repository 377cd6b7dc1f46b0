"""SQL of inbound sources."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.connect.domain.model import InboundSource, SourceKind

_SELECT = """SELECT name, kind, mapping, org_ids, secret, api_token, api_base_url, public_url,
                    enabled, version, created_at, updated_at FROM inbound_sources"""


def _source(row: asyncpg.Record) -> InboundSource:
    return InboundSource(
        name=row["name"],
        kind=SourceKind(row["kind"]),
        mapping_json=row["mapping"],
        org_ids=list(row["org_ids"]),
        secret=row["secret"],
        api_token=row["api_token"],
        api_base_url=row["api_base_url"],
        public_url=row["public_url"],
        enabled=row["enabled"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SourceRows:
    conn: asyncpg.Connection

    async def get_source(self, name: str, *, for_update: bool = False) -> InboundSource | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"{_SELECT} WHERE name = $1{lock}", name)
        return _source(row) if row else None

    async def get_sources(self, names: Sequence[str]) -> dict[str, InboundSource]:
        rows = await self.conn.fetch(f"{_SELECT} WHERE name = ANY($1::text[])", list(set(names)))
        return {row["name"]: _source(row) for row in rows}

    async def list_sources(self) -> list[InboundSource]:
        return [_source(row) for row in await self.conn.fetch(f"{_SELECT} ORDER BY name")]

    async def add_source(self, s: InboundSource) -> None:
        await self.conn.execute(
            """INSERT INTO inbound_sources (name, kind, mapping, org_ids, secret, api_token,
                   api_base_url, public_url, enabled, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            s.name,
            s.kind.value,
            s.mapping_json,
            s.org_ids,
            s.secret,
            s.api_token,
            s.api_base_url,
            s.public_url,
            s.enabled,
            s.version,
            s.created_at,
            s.updated_at,
        )

    async def update_source(self, s: InboundSource) -> None:
        await self.conn.execute(
            """UPDATE inbound_sources SET mapping = $2, org_ids = $3, secret = $4, api_token = $5,
                      api_base_url = $6, public_url = $7, enabled = $8, version = $9,
                      updated_at = $10
                WHERE name = $1""",
            s.name,
            s.mapping_json,
            s.org_ids,
            s.secret,
            s.api_token,
            s.api_base_url,
            s.public_url,
            s.enabled,
            s.version,
            s.updated_at,
        )
