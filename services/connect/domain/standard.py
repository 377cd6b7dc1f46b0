"""Standard Webhooks: verified by the `standardwebhooks` library (the spec's own), whose
Webhook.verify checks webhook-id, webhook-timestamp (five-minute tolerance) and every
signature in webhook-signature against the raw body."""

from __future__ import annotations

import base64
import secrets

from standardwebhooks import Webhook, WebhookVerificationError

from services.connect.domain.intake import RawHook, Unauthorized, Unreadable, read_json, to_json
from services.connect.domain.model import IncomingEvent

OPPORTUNITY_WON = "opportunity.won"


def new_secret() -> str:
    """A `whsec_` secret: 32 random bytes, base64, as the spec recommends (24 to 64 bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def verify(secret: str, hook: RawHook) -> None:
    try:
        Webhook(secret).verify(hook.body, hook.headers, json_parse=False)
    except WebhookVerificationError as exc:
        raise Unauthorized(str(exc)) from None


def events_of(hook: RawHook) -> list[IncomingEvent]:
    parsed = read_json(hook.body)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
        raise Unreadable('the body is {"type": "...", "data": {...}}')
    data = parsed.get("data")
    external = data.get("opportunityId") if isinstance(data, dict) else None
    webhook_id = hook.header("webhook-id") or ""
    return [IncomingEvent(webhook_id, str(external or "")[:200], to_json(parsed))]
