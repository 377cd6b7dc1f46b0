"""Connect's aggregates <-> protobuf messages, and page tokens."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid

from mesh import requests
from mesh.errors import InvalidArgument
from mesh.grpc.convert import timestamp_to_proto
from services.connect.domain.delivery import Delivery, DeliveryStatus
from services.connect.domain.model import (
    ExceptionStatus,
    InboundSource,
    IntegrationException,
    Receipt,
    ReceiptStatus,
    SourceKind,
)
from services.connect.domain.webhooks import WebhookEndpoint
from services.connect.domain.writeback import CrmKind, CrmWriteBack
from services.connect.handlers.ports import Cursor
from weftwork.connect.v1 import connect_service_pb2 as pb

KINDS = {
    SourceKind.HUBSPOT: pb.SOURCE_KIND_HUBSPOT,
    SourceKind.SALESFORCE: pb.SOURCE_KIND_SALESFORCE,
    SourceKind.STANDARD_WEBHOOKS: pb.SOURCE_KIND_STANDARD_WEBHOOKS,
}
KINDS_FROM = {v: k for k, v in KINDS.items()}
RECEIPT_STATUSES = {s: pb.ReceiptStatus.Value(f"RECEIPT_STATUS_{s.value}") for s in ReceiptStatus}
EXCEPTION_STATUSES = {
    s: pb.ExceptionStatus.Value(f"EXCEPTION_STATUS_{s.value}") for s in ExceptionStatus
}
EXCEPTION_STATUSES_FROM = {v: k for k, v in EXCEPTION_STATUSES.items()}


def source_to_proto(s: InboundSource) -> pb.InboundSource:
    return pb.InboundSource(
        name=s.name,
        kind=KINDS[s.kind],
        mapping_json=s.mapping_json,
        org_ids=s.org_ids,
        has_secret=s.secret is not None,
        has_api_token=s.api_token is not None,
        api_base_url=s.api_base_url,
        public_url=s.public_url,
        enabled=s.enabled,
        version=s.version,
        create_time=timestamp_to_proto(s.created_at),
        update_time=timestamp_to_proto(s.updated_at),
    )


def receipt_to_proto(r: Receipt) -> pb.Receipt:
    message = pb.Receipt(
        id=str(r.id),
        source=r.source,
        event_id=r.event_id,
        external_id=r.external_id,
        status=RECEIPT_STATUSES[r.status],
        attempts=r.attempts,
        last_error=r.last_error,
        payload_json=json.dumps(r.payload, sort_keys=True),
        engagement_id=r.engagement_id,
        customer_matched_by=r.customer_matched_by,
        exception_id=str(r.exception_id) if r.exception_id else "",
        receive_time=timestamp_to_proto(r.received_at),
    )
    if r.processed_at is not None:
        message.process_time.CopyFrom(timestamp_to_proto(r.processed_at))
    return message


def exception_to_proto(e: IntegrationException) -> pb.IntegrationException:
    return pb.IntegrationException(
        id=str(e.id),
        source=e.source,
        receipt_id=str(e.receipt_id),
        external_id=e.external_id,
        reason=e.reason,
        payload_json=json.dumps(e.payload, sort_keys=True),
        status=EXCEPTION_STATUSES[e.status],
        dismiss_reason=e.dismiss_reason,
        engagement_id=e.engagement_id,
        retries=e.retries,
        version=e.version,
        create_time=timestamp_to_proto(e.created_at),
        update_time=timestamp_to_proto(e.updated_at),
    )


def parse_id(value: str, field: str) -> uuid.UUID:
    return requests.parse_id(value, field, kind="an integration exception id")


def encode_cursor(cursor: Cursor | None) -> str:
    if cursor is None:
        return ""
    return base64.urlsafe_b64encode(f"{cursor[0].isoformat()}|{cursor[1]}".encode()).decode()


def decode_cursor(token: str) -> Cursor | None:
    if not token:
        return None
    try:
        at, _, row_id = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return dt.datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument.one("page_token", "is not a token this service issued") from None


# --- outbound webhooks and CRM write-back ----------------------------------------------------

DELIVERY_STATUSES = {
    s: pb.DeliveryStatus.Value(f"DELIVERY_STATUS_{s.value}") for s in DeliveryStatus
}
DELIVERY_STATUSES_FROM = {v: k for k, v in DELIVERY_STATUSES.items()}
CRM_KINDS = {k: pb.CrmKind.Value(f"CRM_KIND_{k.value}") for k in CrmKind}
CRM_KINDS_FROM = {v: k for k, v in CRM_KINDS.items()}


def endpoint_to_proto(e: WebhookEndpoint) -> pb.WebhookEndpoint:
    message = pb.WebhookEndpoint(
        id=str(e.id),
        url=e.url,
        description=e.description,
        event_types=e.event_types,
        legal_entities=e.legal_entities,
        enabled=e.enabled,
        disabled_reason=e.disabled_reason,
        version=e.version,
        create_time=timestamp_to_proto(e.created_at),
        update_time=timestamp_to_proto(e.updated_at),
    )
    if e.failing_since is not None:
        message.failing_since.CopyFrom(timestamp_to_proto(e.failing_since))
    return message


def delivery_to_proto(d: Delivery) -> pb.WebhookDelivery:
    message = pb.WebhookDelivery(
        id=str(d.id),
        endpoint_id=str(d.target_id),
        target_kind=d.target_kind.value,
        event_id=str(d.event_id),
        event_type=d.event_type,
        event_time=timestamp_to_proto(d.event_time),
        subject=d.subject,
        engagement_id=d.engagement_id,
        status=DELIVERY_STATUSES[d.status],
        attempts=d.attempts,
        last_status_code=d.last_status,
        last_error=d.last_error,
        create_time=timestamp_to_proto(d.created_at),
        payload_json=json.dumps(d.payload, sort_keys=True),
    )
    if d.status is DeliveryStatus.PENDING:
        message.next_attempt_time.CopyFrom(timestamp_to_proto(d.next_attempt_at))
    if d.delivered_at is not None:
        message.deliver_time.CopyFrom(timestamp_to_proto(d.delivered_at))
    return message


def writeback_to_proto(w: CrmWriteBack) -> pb.CrmWriteBack:
    return pb.CrmWriteBack(
        id=str(w.id),
        source=w.source,
        kind=CRM_KINDS[w.kind],
        base_url=w.base_url,
        fields=w.field_names,
        api_version=w.api_version,
        enabled=w.enabled,
        has_token=bool(w.token),
        version=w.version,
        create_time=timestamp_to_proto(w.created_at),
        update_time=timestamp_to_proto(w.updated_at),
    )


def parse_endpoint_id(value: str, field: str = "id") -> uuid.UUID:
    return requests.parse_id(value, field, kind="a webhook endpoint id")
