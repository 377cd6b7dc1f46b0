"""Intake: verify a webhook with its source's secret, store its events once, answer at once.

Verification runs before anything is written: a bad signature stores nothing. Processing is
left to the receipt worker (processing.py), so the sender's answer never waits on project.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from services.connect.domain import hubspot, salesforce, standard
from services.connect.domain.intake import HookAnswer, RawHook, Refused, Unauthorized
from services.connect.domain.model import (
    InboundSource,
    IncomingEvent,
    NewReceipt,
    SourceKind,
)
from services.connect.handlers.ports import ConnectRepository, SecretBox

JSON = "application/json"


def _json(status: int, **body: object) -> HookAnswer:
    return HookAnswer(status, JSON, json.dumps(body).encode())


def not_found(name: str) -> HookAnswer:
    return _json(404, error=f"no inbound source {name[:64]!r}")


def opened_secret(source: InboundSource, box: SecretBox) -> str:
    """The source's signing (or client) secret in the clear; "" when it has none."""
    return box.open(source.secret) if source.secret else ""


def verified_events(
    source: InboundSource, secret: str, hook: RawHook, *, now_ms: int
) -> list[IncomingEvent]:
    """The request's events once its signature (or organization) checks out; raises Refused.
    `secret` is opened_secret(source, …)."""
    if source.kind is SourceKind.STANDARD_WEBHOOKS:
        standard.verify(secret, hook)
        return standard.events_of(hook)
    if source.kind is SourceKind.HUBSPOT:
        if not secret:
            raise Unauthorized("the source has no client secret")
        hubspot.verify_v3(secret, hook, source.public_url or hook.url, now_ms)
        return hubspot.events_of(hook.body)
    return salesforce.events_of(hook.body, source.org_ids)


def answer_for(source: InboundSource, accepted: int, duplicates: int) -> HookAnswer:
    if source.kind is SourceKind.SALESFORCE:
        return HookAnswer(200, salesforce.CONTENT_TYPE, salesforce.ACK, accepted, duplicates)
    answer = _json(202, accepted=accepted, duplicates=duplicates)
    return HookAnswer(202, answer.content_type, answer.body, accepted, duplicates)


def refusal(source: InboundSource, refused: Refused) -> HookAnswer:
    return _json(refused.status, error=refused.detail)


async def store_receipts(
    repo: ConnectRepository, requests: Sequence[tuple[InboundSource, Sequence[IncomingEvent]]]
) -> list[HookAnswer]:
    """The events of several verified requests in one statement (its own commit): one receipt
    (and receipt.accepted) per event not seen before; one answer per request, in order."""
    planned = [
        [NewReceipt(uuid.uuid4(), source.name, event) for event in events]
        for source, events in requests
    ]
    # In key order, so two batches with the same events lock them in one order (no deadlock).
    ordered = sorted(
        (n for plan in planned for n in plan), key=lambda n: (n.source, n.event.event_id)
    )
    stored = await repo.add_receipts_accepted(ordered)
    new = {r.id for r in stored}
    answers = []
    for (source, _), plan in zip(requests, planned, strict=True):
        accepted = sum(n.id in new for n in plan)
        answers.append(answer_for(source, accepted, len(plan) - accepted))
    return answers
