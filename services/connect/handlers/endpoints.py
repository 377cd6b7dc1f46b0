"""Managing webhook endpoints and CRM write-back; listing and replaying deliveries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mesh.errors import InvalidArgument, NotFound, Violations
from services.connect.domain import standard
from services.connect.domain.delivery import Delivery, DeliveryStatus
from services.connect.domain.model import check_source_name
from services.connect.domain.webhooks import (
    WebhookEndpoint,
    check_entities,
    check_event_types,
    check_url,
    clean_description,
)
from services.connect.domain.writeback import (
    CrmKind,
    CrmWriteBack,
    check_api_version,
    check_base_url,
    check_fields,
)
from services.connect.handlers.exceptions import page_limit
from services.connect.handlers.outbound_ports import Cursor, OutboundRepository
from services.connect.handlers.ports import SecretBox

MAX_TOKEN = 4096


@dataclass(frozen=True)
class EndpointRules:
    """What the deployment allows: the event types there are, and insecure targets (dev)."""

    event_types: Collection[str]
    allow_insecure: bool
    rotation_grace: dt.timedelta = dt.timedelta(hours=24)


@dataclass(frozen=True)
class EndpointDraft:
    url: str
    event_types: tuple[str, ...]
    legal_entities: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    legal_entities: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class WriteBackDraft:
    source: str
    kind: CrmKind | None
    base_url: str = ""
    token: str = ""  # empty on an update keeps the stored one
    fields: Mapping[str, Any] | None = None
    api_version: str = ""
    enabled: bool = True


async def create_endpoint(
    repo: OutboundRepository, box: SecretBox, rules: EndpointRules, draft: EndpointDraft
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its `whsec_` secret, shown this once."""
    errors = Violations()
    url = check_url(draft.url, allow_insecure=rules.allow_insecure, errors=errors, field_name="url")
    types = check_event_types(draft.event_types, rules.event_types, errors, "event_types")
    entities = check_entities(draft.legal_entities, errors, "legal_entities")
    description = clean_description(draft.description, errors, "description")
    errors.raise_if_any()
    secret = standard.new_secret()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=url,
        event_types=types,
        legal_entities=entities,
        description=description,
        secret=box.seal(secret),
    )
    await repo.add_endpoint(endpoint)
    return endpoint, secret


async def _locked(repo: OutboundRepository, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    found = await repo.get_endpoint(endpoint_id, for_update=True)
    if found is None:
        raise NotFound("webhook endpoint", str(endpoint_id))
    return found


async def update_endpoint(
    repo: OutboundRepository, rules: EndpointRules, endpoint_id: uuid.UUID, c: EndpointChanges
) -> WebhookEndpoint:
    endpoint = await _locked(repo, endpoint_id)
    errors = Violations()
    if c.url is not None:
        endpoint.url = check_url(
            c.url, allow_insecure=rules.allow_insecure, errors=errors, field_name="url"
        )
    if c.event_types is not None:
        endpoint.event_types = check_event_types(
            c.event_types, rules.event_types, errors, "event_types"
        )
    if c.legal_entities is not None:
        endpoint.legal_entities = check_entities(c.legal_entities, errors, "legal_entities")
    if c.description is not None:
        endpoint.description = clean_description(c.description, errors, "description")
    errors.raise_if_any()
    if c.enabled is not None:
        if c.enabled and not endpoint.enabled:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None  # a fresh start: days of failure count from now
        endpoint.enabled = c.enabled
    endpoint.touch()
    await repo.update_endpoint(endpoint)
    return endpoint


async def rotate_secret(
    repo: OutboundRepository, box: SecretBox, rules: EndpointRules, endpoint_id: uuid.UUID
) -> tuple[WebhookEndpoint, str]:
    """A new secret, shown once; the old one keeps signing alongside for the grace period."""
    endpoint = await _locked(repo, endpoint_id)
    secret = standard.new_secret()
    endpoint.rotate(box.seal(secret), rules.rotation_grace)
    await repo.update_endpoint(endpoint)
    return endpoint, secret


async def delete_endpoint(repo: OutboundRepository, endpoint_id: uuid.UUID) -> bool:
    """Removes the endpoint and its deliveries; False when there was none."""
    return await repo.delete_endpoint(endpoint_id)


async def list_deliveries(
    repo: OutboundRepository,
    endpoint_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    after: Cursor | None,
    page_size: int,
) -> tuple[list[Delivery], Cursor | None]:
    await _target_exists(repo, endpoint_id)
    limit = page_limit(page_size)
    rows = await repo.deliveries_page(
        target_id=endpoint_id, status=status, after=after, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].created_at, rows[-1].id) if more and rows else None)


async def replay_deliveries(
    repo: OutboundRepository, target_id: uuid.UUID, since: dt.datetime
) -> int:
    """FAILED deliveries of the endpoint (or write-back) created since `since` are PENDING
    again, with a fresh retry window; returns how many."""
    await _target_exists(repo, target_id)
    return await repo.replay_failed(target_id, since)


async def _target_exists(repo: OutboundRepository, target_id: uuid.UUID) -> None:
    """An endpoint's id, or a CRM write-back's: both have deliveries."""
    if await repo.get_endpoint(target_id) is None and not await repo.get_writebacks([target_id]):
        raise NotFound("webhook endpoint", str(target_id))


async def set_writeback(
    repo: OutboundRepository, box: SecretBox, draft: WriteBackDraft
) -> CrmWriteBack:
    """Creates or replaces the write-back of one inbound source (its engagements' CRM)."""
    check_source_name(draft.source)
    if draft.kind is None:
        raise InvalidArgument.one("kind", "choose HUBSPOT or SALESFORCE")
    errors = Violations()
    base_url = check_base_url(draft.base_url, draft.kind, errors, "base_url")
    version = check_api_version(draft.api_version, draft.kind, errors, "api_version")
    fields = check_fields(draft.fields or {}, errors, "fields")
    token = draft.token.strip()
    if len(token) > MAX_TOKEN:
        errors.add("token", f"at most {MAX_TOKEN} characters")
    existing = await repo.get_writeback(draft.source, for_update=True)
    if existing is None and not token:
        what = "private-app token" if draft.kind is CrmKind.HUBSPOT else "OAuth access token"
        errors.add("token", f"the {what} is required")
    errors.raise_if_any()
    if existing is None:
        created = CrmWriteBack(
            id=uuid.uuid4(),
            source=draft.source,
            kind=draft.kind,
            base_url=base_url,
            token=box.seal(token),
            fields=fields,
            api_version=version,
            enabled=draft.enabled,
        )
        await repo.add_writeback(created)
        return created
    existing.kind, existing.base_url, existing.api_version = draft.kind, base_url, version
    existing.fields, existing.enabled = fields, draft.enabled
    if token:
        existing.token = box.seal(token)
    existing.touch()
    await repo.update_writeback(existing)
    return existing
