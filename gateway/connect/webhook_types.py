"""GraphQL types of outbound webhooks and CRM write-back (DESIGN.md §7 Outbound)."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import cast

import strawberry
from strawberry.scalars import JSON

from gateway.connect.types import _time
from weftwork.connect.v1 import connect_service_pb2 as pb


@strawberry.enum
class DeliveryStatus(enum.Enum):
    PENDING = pb.DELIVERY_STATUS_PENDING
    DELIVERED = pb.DELIVERY_STATUS_DELIVERED
    FAILED = pb.DELIVERY_STATUS_FAILED


@strawberry.enum
class CrmKind(enum.Enum):
    HUBSPOT = pb.CRM_KIND_HUBSPOT
    SALESFORCE = pb.CRM_KIND_SALESFORCE


@strawberry.type
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    description: str | None
    event_types: list[str] = strawberry.field(
        description="CloudEvents types, or prefixes like weftwork.billing.*"
    )
    legal_entities: list[str] = strawberry.field(description="Empty: every legal entity.")
    enabled: bool
    disabled_reason: str | None
    failing_since: dt.datetime | None
    version: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_proto(cls, m: pb.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(m.id),
            url=m.url,
            description=m.description or None,
            event_types=list(m.event_types),
            legal_entities=list(m.legal_entities),
            enabled=m.enabled,
            disabled_reason=m.disabled_reason or None,
            failing_since=_time(m, "failing_since"),
            version=m.version,
            created_at=_time(m, "create_time"),
            updated_at=_time(m, "update_time"),
        )


@strawberry.type
class WebhookEndpointCreated:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(description="The whsec_ signing secret, shown this once.")


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    target_kind: str = strawberry.field(description="WEBHOOK, HUBSPOT or SALESFORCE.")
    event_id: str = strawberry.field(description="The CloudEvent id, sent as webhook-id.")
    event_type: str
    event_time: dt.datetime | None
    subject: str
    engagement_id: str | None
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime | None
    delivered_at: dt.datetime | None
    payload: JSON

    @classmethod
    def from_proto(cls, m: pb.WebhookDelivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(m.id),
            endpoint_id=strawberry.ID(m.endpoint_id),
            target_kind=m.target_kind,
            event_id=m.event_id,
            event_type=m.event_type,
            event_time=_time(m, "event_time"),
            subject=m.subject,
            engagement_id=m.engagement_id or None,
            status=DeliveryStatus(m.status),
            attempts=m.attempts,
            last_status_code=m.last_status_code or None,
            last_error=m.last_error or None,
            next_attempt_at=_time(m, "next_attempt_time"),
            created_at=_time(m, "create_time"),
            delivered_at=_time(m, "deliver_time"),
            payload=json.loads(m.payload_json or "{}"),
        )


@strawberry.type
class CrmWriteBack:
    id: strawberry.ID = strawberry.field(description="Its deliveries: webhookDeliveries(id).")
    source: str
    kind: CrmKind
    base_url: str
    fields: JSON
    api_version: str | None
    enabled: bool
    has_token: bool
    version: int

    @classmethod
    def from_proto(cls, m: pb.CrmWriteBack) -> CrmWriteBack:
        return cls(
            id=strawberry.ID(m.id),
            source=m.source,
            kind=CrmKind(m.kind),
            base_url=m.base_url,
            fields=cast(JSON, dict(m.fields)),
            api_version=m.api_version or None,
            enabled=m.enabled,
            has_token=m.has_token,
            version=m.version,
        )
