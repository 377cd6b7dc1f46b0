"""CloudEvents 1.0 attributes as NATS headers (binary content mode), built and parsed.

Every event we publish carries its attributes as `ce-*` headers and its protobuf message as
the body, so a partner with the proto files and any CloudEvents library can read it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote
from uuid import UUID

from opentelemetry import trace

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/protobuf"
SOURCE_PREFIX = "/weftwork/"
# A CloudEvents extension attribute, so any CloudEvents SDK surfaces it as `aggregateversion`.
AGGREGATE_VERSION_HEADER = "ce-aggregateversion"
ENGAGEMENT_HEADER = "ce-engagementid"
# Extension attributes of the audit trail (mesh.audit): who did it, for whom (event-driven
# steps: the causing event's actor) and the request it belongs to.
ACTOR_HEADER = "ce-actor"
ON_BEHALF_OF_HEADER = "ce-onbehalfof"
REQUEST_ID_HEADER = "ce-requestid"
MSG_ID_HEADER = "Nats-Msg-Id"

_TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")
# The CloudEvents HTTP binding percent-encodes these in header values; NATS headers are the
# same shape, so we follow it and SDK readers decode our values to what we meant.
_NEEDS_ENCODING = re.compile(r'[^\x21-\x7e]|["%]')


class InvalidEventHeaders(ValueError):
    """A message's headers are not a CloudEvent we can read."""


@dataclass(frozen=True)
class EventAttributes:
    """The CloudEvents attributes of one event, plus our aggregate version and trace context."""

    id: UUID
    source: str
    type: str
    aggregate_id: str
    time: datetime
    aggregate_version: int
    traceparent: str | None
    tracestate: str | None = None
    actor: str | None = None
    on_behalf_of: str | None = None
    request_id: str | None = None


def event_headers(
    *,
    event_id: UUID,
    service: str,
    subject: str,
    aggregate_id: str,
    aggregate_version: int,
    time: datetime | None = None,
    engagement_id: str | None = None,
    actor: str | None = None,
    on_behalf_of: str | None = None,
    request_id: str | None = None,
) -> dict[str, str]:
    """The NATS headers of one event; trace context comes from the current span, if any."""
    moment = (time or datetime.now(UTC)).astimezone(UTC)
    headers = {
        "ce-specversion": SPEC_VERSION,
        "ce-id": str(event_id),
        "ce-source": _encode(SOURCE_PREFIX + service),
        "ce-type": _encode(subject),
        "ce-time": moment.isoformat().replace("+00:00", "Z"),
        "ce-subject": _encode(aggregate_id),
        "ce-datacontenttype": CONTENT_TYPE,
        "Content-Type": CONTENT_TYPE,
        MSG_ID_HEADER: str(event_id),
        AGGREGATE_VERSION_HEADER: str(aggregate_version),
    }
    if engagement_id:
        # An extension attribute: lets a subscriber pick one engagement's events from a stream.
        headers[ENGAGEMENT_HEADER] = _encode(engagement_id)
    for name, value in (
        (ACTOR_HEADER, actor),
        (ON_BEHALF_OF_HEADER, on_behalf_of),
        (REQUEST_ID_HEADER, request_id),
    ):
        if value:
            headers[name] = _encode(value)
    headers.update(trace_context_headers())
    return headers


def trace_context_headers() -> dict[str, str]:
    """W3C trace context of the current span; a fresh root when there is none.

    A fresh traceparent still lets logs of every hop the event causes be joined by trace id.
    """
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {"traceparent": fresh_traceparent()}
    headers = {
        "traceparent": (
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
        )
    }
    if context.trace_state:
        headers["tracestate"] = context.trace_state.to_header()
    return headers


def fresh_traceparent() -> str:
    # Not sampled: nothing recorded a span for it.
    trace_id = secrets.randbits(128) or 1
    span_id = secrets.randbits(64) or 1
    return f"00-{trace_id:032x}-{span_id:016x}-00"


def is_valid_traceparent(value: str) -> bool:
    return _TRACEPARENT.match(value) is not None


def event_id_of(headers: Mapping[str, str]) -> UUID | None:
    """The ce-id alone, for messages too broken to parse whole (dead letters keep it)."""
    for name, value in headers.items():
        if name.lower() == "ce-id":
            try:
                return UUID(value)
            except ValueError:
                return None
    return None


def parse_event_headers(headers: Mapping[str, str]) -> EventAttributes:
    """Read our headers back; header names are matched case-insensitively."""
    lowered = {name.lower(): value for name, value in headers.items()}

    def required(name: str) -> str:
        value = lowered.get(name)
        if not value:
            raise InvalidEventHeaders(f"missing header {name}")
        return value

    if required("ce-specversion") != SPEC_VERSION:
        raise InvalidEventHeaders(f"unsupported ce-specversion {lowered['ce-specversion']!r}")
    raw_id, raw_time = required("ce-id"), unquote(required("ce-time"))
    raw_version = required(AGGREGATE_VERSION_HEADER)
    try:
        event_id = UUID(raw_id)
    except ValueError:
        raise InvalidEventHeaders(f"ce-id {raw_id!r} is not a UUID") from None
    try:
        time = datetime.fromisoformat(raw_time)
    except ValueError:
        raise InvalidEventHeaders(f"ce-time {raw_time!r} is not RFC 3339") from None
    if time.tzinfo is None:
        raise InvalidEventHeaders("ce-time has no UTC offset")
    try:
        version = int(raw_version)
    except ValueError:
        raise InvalidEventHeaders(
            f"{AGGREGATE_VERSION_HEADER} {raw_version!r} is not an integer"
        ) from None
    traceparent = lowered.get("traceparent")
    return EventAttributes(
        id=event_id,
        source=unquote(required("ce-source")),
        type=unquote(required("ce-type")),
        aggregate_id=unquote(required("ce-subject")),
        time=time,
        aggregate_version=version,
        traceparent=traceparent if traceparent and is_valid_traceparent(traceparent) else None,
        tracestate=lowered.get("tracestate"),
        actor=_optional(lowered, ACTOR_HEADER),
        on_behalf_of=_optional(lowered, ON_BEHALF_OF_HEADER),
        request_id=_optional(lowered, REQUEST_ID_HEADER),
    )


def _optional(lowered: Mapping[str, str], name: str) -> str | None:
    value = lowered.get(name)
    return unquote(value) if value else None


def _encode(value: str) -> str:
    if not _NEEDS_ENCODING.search(value):
        return value
    return quote(value, safe="".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%'))
