"""Processing a receipt: map it to a won opportunity, hand it to project, record the outcome.

decide() talks to project and the CRM but never to the database; record() writes the outcome
in the worker's transaction. A refusal becomes (or reopens) an integration exception; an
outage is retried with backoff until max_attempts, then becomes an exception too.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from typing import Any

from mesh.errors import FailedPrecondition
from mesh.retry import backoff_delay
from services.connect.domain import hubspot
from services.connect.domain.mapping import Mapping, parse_mapping
from services.connect.domain.model import (
    ExceptionOpened,
    ExceptionResolved,
    ExceptionStatus,
    InboundSource,
    IntegrationException,
    Receipt,
    ReceiptStatus,
    SourceKind,
)
from services.connect.domain.opportunity import Unmappable
from services.connect.domain.standard import OPPORTUNITY_WON
from services.connect.handlers.ports import (
    ConnectRepository,
    DealReader,
    Engagements,
    SecretBox,
    Transient,
)


class Result(enum.Enum):
    PROCESSED = "PROCESSED"
    SKIPPED = "SKIPPED"
    EXCEPTION = "EXCEPTION"
    RETRY = "RETRY"


@dataclass(frozen=True)
class Outcome:
    result: Result
    detail: str = ""
    engagement_id: str = ""
    matched_by: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class Processing:
    """The ports and limits decide() and record() work with."""

    engagements: Engagements
    deals: DealReader
    box: SecretBox
    hubspot_api_url: str
    max_attempts: int
    retry_cap: float


async def decide(p: Processing, source: InboundSource | None, receipt: Receipt) -> Outcome:
    if source is None:
        return Outcome(Result.EXCEPTION, f"UNKNOWN_SOURCE: source {receipt.source!r} is gone")
    try:
        mapping = parse_mapping(source.mapping_json, source.kind)
        data = await _opportunity_input(p, source, mapping, receipt)
        if isinstance(data, Outcome):
            return data
        won = mapping.opportunity(data, source.name)
        created = await p.engagements.create(source.name, won)
    except Unmappable as exc:
        return Outcome(Result.EXCEPTION, exc.reason)
    except Transient as exc:
        return Outcome(Result.RETRY, exc.detail, retry_after=exc.retry_after)
    except FailedPrecondition as exc:  # no secret key yet: retried until configured
        return Outcome(Result.RETRY, exc.message)
    except Exception as exc:  # a mapping stored before a rule changed, a bug: never dropped
        return Outcome(Result.EXCEPTION, f"INVALID_MAPPING: {exc}"[:500])
    return Outcome(
        Result.PROCESSED,
        engagement_id=created.engagement_id,
        matched_by=created.customer_matched_by,
    )


def _skip(detail: str) -> Outcome:
    return Outcome(Result.SKIPPED, detail)


async def _opportunity_input(
    p: Processing, source: InboundSource, mapping: Mapping, receipt: Receipt
) -> dict[str, Any] | Outcome:
    payload = receipt.payload
    if source.kind is SourceKind.STANDARD_WEBHOOKS:
        if payload.get("type") != OPPORTUNITY_WON:
            return _skip(f"type {str(payload.get('type'))[:64]!r} is not handled")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise Unmappable("INVALID_FIELD", "data must be an object")
        return data
    if source.kind is SourceKind.SALESFORCE:
        return _salesforce_input(mapping, payload)
    return await _hubspot_input(p, source, mapping, receipt)


def _salesforce_input(mapping: Mapping, payload: dict[str, Any]) -> dict[str, Any] | Outcome:
    if payload.get("sObjectType") != "Opportunity":
        return _skip(f"{payload.get('sObjectType')!r} is not an Opportunity")
    fields = {k: v for k, v in (payload.get("fields") or {}).items() if v is not None}
    stage = fields.get("StageName", "")
    if not (mapping.is_won(stage) or (not stage and fields.get("IsWon") == "true")):
        return _skip(f"stage {stage[:64]!r} is not a won stage")
    return mapping.deal_input(fields.get("Id", ""), fields, {}, fields.get("AccountId", ""))


async def _hubspot_input(
    p: Processing, source: InboundSource, mapping: Mapping, receipt: Receipt
) -> dict[str, Any] | Outcome:
    payload, deal_id = receipt.payload, receipt.external_id
    workflow = payload.get("workflow")
    if isinstance(workflow, dict):
        props = hubspot.workflow_properties(workflow)
        stage = props.get("dealstage")
        if stage is not None and not mapping.is_won(stage):
            return _skip(f"dealstage {stage[:64]!r} is not a won stage")
        if source.api_token and deal_id:
            deal = await _read(p, source, deal_id)
            return mapping.deal_input(
                deal_id, {**deal.properties, **props}, deal.company, deal.company_id
            )
        account = props.get("associatedcompanyid") or f"deal-{deal_id}"
        return mapping.deal_input(deal_id, props, {}, account)
    kind = payload.get("subscriptionType")
    if kind == "deal.creation":  # e.g. imported already won: the deal's own stage decides
        deal = await _read(p, source, deal_id)
        stage = str(deal.properties.get("dealstage") or "")
        if not mapping.is_won(stage):
            return _skip(f"created in dealstage {stage[:64]!r}, not a won stage")
        return mapping.deal_input(deal_id, deal.properties, deal.company, deal.company_id)
    if kind != "deal.propertyChange" or payload.get("propertyName") != "dealstage":
        return _skip(f"{kind} of {payload.get('propertyName')} is not a deal stage change")
    stage = str(payload.get("propertyValue", ""))
    if not mapping.is_won(stage):
        return _skip(f"dealstage {stage[:64]!r} is not a won stage")
    deal = await _read(p, source, deal_id)
    return mapping.deal_input(deal_id, deal.properties, deal.company, deal.company_id)


async def _read(p: Processing, source: InboundSource, deal_id: str) -> Any:
    if source.api_token is None:
        raise Unmappable("NO_API_TOKEN", "set the source's private-app token to read deals")
    token = p.box.open(source.api_token)
    return await p.deals.read_deal(source.api_base_url or p.hubspot_api_url, token, deal_id)


async def record(
    repo: ConnectRepository, p: Processing, receipt: Receipt, outcome: Outcome
) -> float | None:
    """Apply the outcome to the receipt and write its exception (if any) in the caller's
    transaction; returns in how many seconds to try again (None: settled). The caller saves
    the receipts of a batch together (ConnectRepository.save_receipts)."""
    receipt.attempts += 1
    now = dt.datetime.now(dt.UTC)
    if outcome.result is Result.RETRY:
        if receipt.attempts < p.max_attempts:
            receipt.last_error = outcome.detail[:1000]
            delay = outcome.retry_after
            if delay is None:
                delay = backoff_delay(receipt.attempts, base=1.0, cap=p.retry_cap)
            return min(delay, p.retry_cap)
        detail = f"UNAVAILABLE: {outcome.detail} (gave up after {receipt.attempts} attempts)"
        outcome = Outcome(Result.EXCEPTION, detail)
    receipt.processed_at = now
    receipt.last_error = outcome.detail[:1000] if outcome.result is not Result.PROCESSED else ""
    if outcome.result is Result.PROCESSED:
        receipt.status = ReceiptStatus.PROCESSED
        receipt.engagement_id = outcome.engagement_id
        receipt.customer_matched_by = outcome.matched_by
        await _resolve(repo, receipt, outcome.engagement_id)
    elif outcome.result is Result.SKIPPED:
        receipt.status = ReceiptStatus.SKIPPED
    else:
        receipt.status = ReceiptStatus.EXCEPTION
        await _open(repo, receipt, outcome.detail)
    return None


async def _resolve(repo: ConnectRepository, receipt: Receipt, engagement_id: str) -> None:
    if receipt.exception_id is None:
        return
    exception = await repo.get_exception(receipt.exception_id, for_update=True)
    if exception is not None:
        exception.resolve(engagement_id)
        await repo.update_exception(exception)
        await repo.emit(ExceptionResolved(exception))


async def _open(repo: ConnectRepository, receipt: Receipt, reason: str) -> None:
    existing = (
        await repo.get_exception(receipt.exception_id, for_update=True)
        if receipt.exception_id
        else None
    )
    if existing is not None:
        if existing.status is not ExceptionStatus.DISMISSED:  # a dismissal stands
            existing.reopen(reason)
            await repo.update_exception(existing)
            await repo.emit(ExceptionOpened(existing))
        return
    exception = IntegrationException(
        id=uuid.uuid4(),
        source=receipt.source,
        receipt_id=receipt.id,
        external_id=receipt.external_id,
        reason=reason,
        payload=receipt.payload,
    )
    receipt.exception_id = exception.id
    await repo.add_exception(exception)
    await repo.emit(ExceptionOpened(exception))
