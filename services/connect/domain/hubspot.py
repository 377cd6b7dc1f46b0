"""HubSpot: X-HubSpot-Signature-v3 verification and the two payload shapes.

HubSpot publishes no verifier library for v3, so this follows its documented steps: reject a
timestamp older than five minutes; decode the URL-encoded characters of HubSpot's table in the
request URI; HMAC-SHA256 over method + URI + body + timestamp (UTF-8) with the app's client
secret; base64; compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from services.connect.domain.intake import RawHook, Unauthorized, Unreadable, read_json, to_json
from services.connect.domain.model import IncomingEvent

SIGNATURE = "x-hubspot-signature-v3"
TIMESTAMP = "x-hubspot-request-timestamp"
WINDOW_MS = 5 * 60 * 1000
MAX_EVENTS = 100  # HubSpot sends at most 100 events per request
# HubSpot's table of URL-encoded characters to decode in the URI before signing.
_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ENCODED = re.compile("|".join(_DECODE), re.IGNORECASE)
_DIGITS = re.compile(r"^[0-9]{1,16}$")


def decode_uri(uri: str) -> str:
    return _ENCODED.sub(lambda m: _DECODE[m.group(0).upper()], uri)


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The X-HubSpot-Signature-v3 value HubSpot sends for this request."""
    source = method.encode() + decode_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(secret: str, hook: RawHook, uri: str, now_ms: int) -> None:
    """Raises Unauthorized unless the request carries a current, matching v3 signature."""
    signature = hook.header(SIGNATURE)
    timestamp = hook.header(TIMESTAMP)
    if not signature or not timestamp:
        raise Unauthorized(f"missing {SIGNATURE} or {TIMESTAMP}")
    if not _DIGITS.match(timestamp):  # milliseconds, an integer: "1.7e12" or "1700.5" is refused
        raise Unauthorized(f"{TIMESTAMP} must be integer milliseconds")
    if abs(now_ms - int(timestamp)) > WINDOW_MS:
        raise Unauthorized(f"{TIMESTAMP} is more than five minutes away from now")
    expected = sign_v3(secret, hook.method.upper(), uri, hook.body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Unauthorized("the signature does not match")


def events_of(body: bytes) -> list[IncomingEvent]:
    """A Webhooks API batch (a JSON array of events) or one workflow "Send a webhook" payload."""
    parsed = read_json(body)
    if isinstance(parsed, list):
        if not parsed or len(parsed) > MAX_EVENTS:
            raise Unreadable(f"a HubSpot batch holds 1..{MAX_EVENTS} events")
        return [_batch_event(i, e) for i, e in enumerate(parsed)]
    if isinstance(parsed, dict):
        deal_id = _deal_id(parsed)
        # Workflow requests carry no event id; a retried request has the same body.
        digest = hashlib.sha256(body).hexdigest()[:40]
        return [IncomingEvent(f"workflow:{digest}", deal_id, {"workflow": to_json(parsed)})]
    raise Unreadable("a HubSpot webhook body is a JSON array or object")


def _batch_event(index: int, event: Any) -> IncomingEvent:
    if not isinstance(event, dict):
        raise Unreadable(f"event [{index}] is not an object")
    event_id, object_id = event.get("eventId"), event.get("objectId")
    if not isinstance(event_id, int | str) or isinstance(event_id, bool) or event_id == "":
        raise Unreadable(f"event [{index}] has no eventId")
    if not isinstance(object_id, int | str) or isinstance(object_id, bool):
        raise Unreadable(f"event [{index}] has no objectId")
    return IncomingEvent(str(event_id), str(object_id), to_json(event))


def workflow_properties(payload: dict[str, Any]) -> dict[str, str]:
    """Deal properties of a workflow payload: flat (custom body) or {"properties": {p: {value}}}."""
    source = payload.get("properties") if isinstance(payload.get("properties"), dict) else payload
    assert isinstance(source, dict)
    found: dict[str, str] = {}
    for name, value in source.items():
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, str | int) and not isinstance(value, bool):
            found[str(name)] = str(value)
    return found


def _deal_id(payload: dict[str, Any]) -> str:
    for candidate in (payload.get("objectId"), workflow_properties(payload).get("hs_object_id")):
        if isinstance(candidate, int | str) and not isinstance(candidate, bool) and candidate != "":
            return str(candidate)
    return ""
