"""Turning one event of another domain into deliveries: one per endpoint that takes it, and
a CRM write-back when it changed what the CRM shows. Runs in the consumer's transaction,
with its inbox row, so each event fans out exactly once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.connect.domain.delivery import Delivery, TargetKind
from services.connect.domain.writeback import CrmKind, EngagementStatus, can_write_back
from services.connect.handlers.outbound_ports import OutboundRepository

StatusChange = Callable[[EngagementStatus], bool]


@dataclass(frozen=True)
class PassedEvent:
    """An event of the PROJECT, BILLING, REVENUE or CUSTOMER stream, as connect passes it on."""

    id: uuid.UUID
    type: str
    time: dt.datetime
    subject: str  # ce-subject: the aggregate id
    engagement_id: str
    legal_entity: str
    data: dict[str, Any]  # the event as proto3 JSON
    change: StatusChange | None = None  # what it does to the engagement's status
    stream: str = ""  # the domain whose stream it came on (billing), "" when not from one
    stream_seq: int = 0  # its sequence in that stream

    def body(self) -> dict[str, Any]:
        """The webhook body (DESIGN.md §7)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "time": self.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "engagementId": self.engagement_id or None,
            "data": self.data,
        }


async def fan_out(repo: OutboundRepository, event: PassedEvent) -> int:
    """Records the deliveries the event makes; returns how many."""
    status, changed = await _apply_to_status(repo, event)
    entity = event.legal_entity or (status.legal_entity if status else "")
    deliveries = [
        _delivery(event, TargetKind.WEBHOOK, endpoint.id, event.body())
        for endpoint in await repo.enabled_endpoints()
        if endpoint.takes(event.type, entity)
    ]
    if status is not None and changed and can_write_back(status):
        writeback = await repo.get_writeback(status.crm_system)
        if writeback is not None and writeback.enabled:
            salesforce = writeback.kind is CrmKind.SALESFORCE
            payload = {
                "recordId": status.crm_record_id,
                "fields": status.record_fields(writeback.field_names, numbers=salesforce),
            }
            kind = TargetKind(writeback.kind.value)
            deliveries.append(_delivery(event, kind, writeback.id, payload))
    return await repo.add_deliveries(deliveries)


async def _apply_to_status(
    repo: OutboundRepository, event: PassedEvent
) -> tuple[EngagementStatus | None, bool]:
    """The engagement's status after the event, and whether the CRM should hear of it."""
    if not event.engagement_id:
        return None, False
    status = await repo.get_engagement_status(event.engagement_id)
    if event.change is None:
        return status, False
    status = status or EngagementStatus(event.engagement_id)
    changed = event.change(status)
    if not status.legal_entity and event.legal_entity:
        status.legal_entity = event.legal_entity
    await repo.save_engagement_status(status)
    return status, changed


def _delivery(
    event: PassedEvent, kind: TargetKind, target_id: uuid.UUID, payload: dict[str, Any]
) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        target_kind=kind,
        target_id=target_id,
        event_id=event.id,
        event_type=event.type,
        event_time=event.time,
        subject=event.subject,
        engagement_id=event.engagement_id,
        order_key=event.engagement_id or f"{event.type}:{event.subject}",
        payload=payload,
        stream=event.stream,
        stream_seq=event.stream_seq,
    )
