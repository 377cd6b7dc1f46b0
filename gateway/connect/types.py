"""GraphQL types of connect (DESIGN.md §7): inbound sources, receipts, integration exceptions."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

import strawberry
from strawberry.scalars import JSON

from gateway.context import Info
from gateway.engagements.mutations import CustomerMatch
from gateway.engagements.view import Engagement
from weftwork.connect.v1 import connect_service_pb2 as pb


@strawberry.enum
class SourceKind(enum.Enum):
    HUBSPOT = pb.SOURCE_KIND_HUBSPOT
    SALESFORCE = pb.SOURCE_KIND_SALESFORCE
    STANDARD_WEBHOOKS = pb.SOURCE_KIND_STANDARD_WEBHOOKS


@strawberry.enum
class ReceiptStatus(enum.Enum):
    PENDING = pb.RECEIPT_STATUS_PENDING
    PROCESSED = pb.RECEIPT_STATUS_PROCESSED
    SKIPPED = pb.RECEIPT_STATUS_SKIPPED
    EXCEPTION = pb.RECEIPT_STATUS_EXCEPTION


@strawberry.enum
class ExceptionStatus(enum.Enum):
    OPEN = pb.EXCEPTION_STATUS_OPEN
    RETRIED = pb.EXCEPTION_STATUS_RETRIED
    DISMISSED = pb.EXCEPTION_STATUS_DISMISSED
    RESOLVED = pb.EXCEPTION_STATUS_RESOLVED


def _time(message: Any, field: str) -> dt.datetime | None:
    if not message.HasField(field):
        return None
    stamp = getattr(message, field)
    return dt.datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, dt.UTC)


async def _engagement(info: Info, engagement_id: str) -> Engagement | None:
    if not engagement_id:
        return None
    found = await info.context.loaders.engagements.load(engagement_id)
    if found is None or not info.context.principal.sees(found.legal_entity):
        return None
    return Engagement.from_proto(found)


@strawberry.type
class InboundSource:
    name: str
    kind: SourceKind
    mapping: JSON
    org_ids: list[str]
    has_secret: bool
    has_api_token: bool
    api_base_url: str | None
    public_url: str | None
    enabled: bool
    hook_path: str = strawberry.field(description="Where the source posts: /hooks/<name>.")
    version: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_proto(cls, m: pb.InboundSource) -> InboundSource:
        return cls(
            name=m.name,
            kind=SourceKind(m.kind),
            mapping=json.loads(m.mapping_json or "{}"),
            org_ids=list(m.org_ids),
            has_secret=m.has_secret,
            has_api_token=m.has_api_token,
            api_base_url=m.api_base_url or None,
            public_url=m.public_url or None,
            enabled=m.enabled,
            hook_path=f"/hooks/{m.name}",
            version=m.version,
            created_at=_time(m, "create_time"),
            updated_at=_time(m, "update_time"),
        )


@strawberry.type
class InboundSourceCreated:
    source: InboundSource
    secret: str | None = strawberry.field(
        description="STANDARD_WEBHOOKS: the whsec_ signing secret, shown this once."
    )


@strawberry.type
class Receipt:
    id: strawberry.ID
    source: str
    event_id: str
    external_id: str | None
    status: ReceiptStatus
    attempts: int
    last_error: str | None
    payload: JSON
    customer_matched_by: CustomerMatch | None
    exception_id: strawberry.ID | None
    received_at: dt.datetime | None
    processed_at: dt.datetime | None
    engagement_id: strawberry.Private[str]

    @strawberry.field(description="The engagement the receipt became (PROCESSED).")
    async def engagement(self, info: Info) -> Engagement | None:
        return await _engagement(info, self.engagement_id)

    @classmethod
    def from_proto(cls, m: pb.Receipt) -> Receipt:
        matched = m.customer_matched_by
        return cls(
            id=strawberry.ID(m.id),
            source=m.source,
            event_id=m.event_id,
            external_id=m.external_id or None,
            status=ReceiptStatus(m.status),
            attempts=m.attempts,
            last_error=m.last_error or None,
            payload=json.loads(m.payload_json or "{}"),
            customer_matched_by=CustomerMatch[matched]
            if matched in CustomerMatch.__members__
            else None,
            exception_id=strawberry.ID(m.exception_id) if m.exception_id else None,
            received_at=_time(m, "receive_time"),
            processed_at=_time(m, "process_time"),
            engagement_id=m.engagement_id,
        )


@strawberry.type
class IntegrationException:
    id: strawberry.ID
    source: str
    receipt_id: strawberry.ID
    external_id: str | None
    reason: str
    payload: JSON
    status: ExceptionStatus
    dismiss_reason: str | None
    retries: int
    version: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    engagement_id: strawberry.Private[str]

    @strawberry.field(description="RESOLVED: the engagement the retried receipt became.")
    async def engagement(self, info: Info) -> Engagement | None:
        return await _engagement(info, self.engagement_id)

    @classmethod
    def from_proto(cls, m: pb.IntegrationException) -> IntegrationException:
        return cls(
            id=strawberry.ID(m.id),
            source=m.source,
            receipt_id=strawberry.ID(m.receipt_id),
            external_id=m.external_id or None,
            reason=m.reason,
            payload=json.loads(m.payload_json or "{}"),
            status=ExceptionStatus(m.status),
            dismiss_reason=m.dismiss_reason or None,
            retries=m.retries,
            version=m.version,
            created_at=_time(m, "create_time"),
            updated_at=_time(m, "update_time"),
            engagement_id=m.engagement_id,
        )
