"""Making due deliveries: sign and post webhooks, write status back to CRMs, record what
each attempt got (delivered, retry later, FAILED), and disable endpoints failing too long."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from standardwebhooks import Webhook

from services.connect.domain.delivery import (
    Attempt,
    Delivery,
    DeliveryStatus,
    RetryPolicy,
    TargetKind,
    settle,
)
from services.connect.domain.outbound_events import DeliveryFailed, EndpointDisabled
from services.connect.domain.webhooks import WebhookEndpoint
from services.connect.domain.writeback import (
    CrmKind,
    CrmWriteBack,
    hubspot_batch_update,
    salesforce_update,
)
from services.connect.handlers.outbound_ports import OutboundRepository, Sender
from services.connect.handlers.ports import SecretBox

HUBSPOT_BATCH_LIMIT = 100


@dataclass(frozen=True)
class Delivering:
    sender: Sender
    box: SecretBox
    policy: RetryPolicy
    disable_after_seconds: float  # an endpoint failing this long is disabled


async def deliver_due(
    p: Delivering, repo: OutboundRepository, limit: int, floors: Mapping[str, int]
) -> int:
    """Claims up to `limit` due deliveries (in the caller's transaction) whose events are at or
    below their streams' ack floors, makes them side by side and records each outcome; returns
    how many it attempted."""
    due = await repo.claim_due_deliveries(limit, floors)
    if not due:
        return 0
    endpoints = await repo.get_endpoints(
        [d.target_id for d in due if d.target_kind is TargetKind.WEBHOOK]
    )
    writebacks = await repo.get_writebacks(
        [d.target_id for d in due if d.target_kind is not TargetKind.WEBHOOK]
    )
    await _current_status(repo, due, writebacks)
    now = dt.datetime.now(dt.UTC)
    attempts = await _attempt_all(p, due, endpoints, writebacks, now)
    now = dt.datetime.now(dt.UTC)
    outcomes = [settle(d, attempts[d.id], p.policy, now) for d in due]
    await repo.save_deliveries(due)
    for delivery, outcome in zip(due, outcomes, strict=True):
        if outcome.status is DeliveryStatus.FAILED:
            await repo.emit_outbound(DeliveryFailed(delivery))
    await _note_endpoints(p, repo, due, attempts, now)
    return len(due)


async def _attempt_all(
    p: Delivering,
    due: Sequence[Delivery],
    endpoints: dict[uuid.UUID, WebhookEndpoint],
    writebacks: dict[uuid.UUID, CrmWriteBack],
    now: dt.datetime,
) -> dict[uuid.UUID, Attempt]:
    calls: list[tuple[list[uuid.UUID], asyncio.Future[Attempt]]] = []
    secrets = {
        e.id: e.signing_secrets(p.box.open, now) for e in endpoints.values()
    }  # opened once per batch, not per delivery
    hubspot: dict[uuid.UUID, list[Delivery]] = {}
    for d in due:
        if d.target_kind is TargetKind.WEBHOOK:
            endpoint = endpoints.get(d.target_id)
            if endpoint is not None:
                post = _post(p, endpoint, secrets[endpoint.id], d, now)
                calls.append(([d.id], asyncio.ensure_future(post)))
        elif d.target_kind is TargetKind.HUBSPOT:
            hubspot.setdefault(d.target_id, []).append(d)
        else:
            writeback = writebacks.get(d.target_id)
            if writeback is not None:
                calls.append(([d.id], asyncio.ensure_future(_salesforce(p, writeback, d))))
    for target_id, group in hubspot.items():
        writeback = writebacks.get(target_id)
        for start in range(0, len(group), HUBSPOT_BATCH_LIMIT):
            chunk = group[start : start + HUBSPOT_BATCH_LIMIT]
            if writeback is not None:
                future = asyncio.ensure_future(_hubspot(p, writeback, chunk))
                calls.append(([d.id for d in chunk], future))
    results = await asyncio.gather(*(future for _, future in calls))
    found = {d.id: Attempt(0, "the target was removed") for d in due}
    for (ids, _), attempt in zip(calls, results, strict=True):
        for delivery_id in ids:
            found[delivery_id] = attempt
    return found


async def _current_status(
    repo: OutboundRepository, due: Sequence[Delivery], writebacks: dict[uuid.UUID, CrmWriteBack]
) -> None:
    """A write-back sends the engagement's status as it is now, not as it was when the event
    was consumed: events of three streams arrive in any order, and the CRM must end on the
    latest state whatever order the deliveries go in. The payload records what was sent."""
    for d in due:
        writeback = writebacks.get(d.target_id)
        if writeback is None or d.target_kind is TargetKind.WEBHOOK:
            continue
        status = await repo.get_engagement_status(d.engagement_id)
        if status is not None:
            salesforce = writeback.kind is CrmKind.SALESFORCE
            fields = status.record_fields(writeback.field_names, numbers=salesforce)
            d.payload = {**d.payload, "fields": fields}


def webhook_request(
    endpoint: WebhookEndpoint, d: Delivery, secrets: Sequence[str], now: dt.datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers; webhook-id is the CloudEvent id, so a
    receiver dedupes every redelivery of the event. One signature per live secret."""
    body = json.dumps(d.payload, separators=(",", ":"), ensure_ascii=False).encode()
    message_id = str(d.event_id)
    signatures = " ".join(Webhook(s).sign(message_id, now, body) for s in secrets)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }
    return body, headers


async def _post(
    p: Delivering, endpoint: WebhookEndpoint, secrets: list[str], d: Delivery, now: dt.datetime
) -> Attempt:
    body, headers = webhook_request(endpoint, d, secrets, now)
    return await p.sender.post_webhook(endpoint.url, body, headers)


async def _hubspot(p: Delivering, writeback: CrmWriteBack, group: Sequence[Delivery]) -> Attempt:
    updates = {str(d.payload["recordId"]): d.payload["fields"] for d in group}
    request = hubspot_batch_update(writeback.base_url, updates)
    return await p.sender.call_crm(request, p.box.open(writeback.token))


async def _salesforce(p: Delivering, writeback: CrmWriteBack, d: Delivery) -> Attempt:
    request = salesforce_update(
        writeback.base_url, writeback.api_version, str(d.payload["recordId"]), d.payload["fields"]
    )
    return await p.sender.call_crm(request, p.box.open(writeback.token))


async def _note_endpoints(
    p: Delivering,
    repo: OutboundRepository,
    due: Sequence[Delivery],
    attempts: dict[uuid.UUID, Attempt],
    now: dt.datetime,
) -> None:
    """An endpoint that answered is healthy; one failing since longer than the limit is
    disabled (its pending deliveries wait until it is enabled again) with an event."""
    delivered: dict[uuid.UUID, bool] = {}
    for d in due:
        if d.target_kind is TargetKind.WEBHOOK:
            ok = attempts[d.id].delivered
            delivered[d.target_id] = delivered.get(d.target_id, False) or ok
    for endpoint_id, ok in sorted(delivered.items()):
        since = await repo.note_endpoint_attempt(endpoint_id, delivered=ok)
        if since is None or (now - since).total_seconds() < p.disable_after_seconds:
            continue
        endpoint = await repo.get_endpoint(endpoint_id, for_update=True)
        if endpoint is None or not endpoint.enabled:
            continue
        days = (now - since).total_seconds() / 86_400
        endpoint.disable(f"every delivery failed since {since.isoformat()} ({days:.1f} days)")
        await repo.update_endpoint(endpoint)
        await repo.emit_outbound(EndpointDisabled(endpoint))
