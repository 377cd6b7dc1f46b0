"""Apply an event at most once per consumer: the inbox row and the effect share a transaction."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from mesh.audit.log import record
from mesh.audit.scope import AuditScope, acting, clean, service_actor
from mesh.events.cloudevents import (
    ENGAGEMENT_HEADER,
    EventAttributes,
    InvalidEventHeaders,
    parse_event_headers,
)
from mesh.events.handlers import EventHandlers, ForeignSource, PoisonMessage

_tracer = trace.get_tracer(__name__)
_propagator = TraceContextTextMapPropagator()


async def apply_once(
    conn: asyncpg.Connection,
    *,
    consumer: str,
    handlers: EventHandlers,
    subject: str,
    headers: Mapping[str, str],
    payload: bytes,
    owner: str | None = None,
    stream_seq: int = 0,
) -> bool:
    """Run the subject's handler unless this consumer already applied the event; False if it had.

    Call inside a transaction (a savepoint per message): the inbox row claimed here commits or
    rolls back with the handler's effect. A concurrent delivery of the same event waits on the
    row's lock and then finds it taken. With `owner` (/weftwork/<domain> of the stream), an
    event claiming any other ce-source is refused before anything is written.

    The handler runs as `service:<service>` (the consumer's name up to its first "-", e.g.
    billing-project) on behalf of the event's actor, and its audit row is written with it.
    """
    try:
        attributes = parse_event_headers(headers)
    except InvalidEventHeaders as exc:
        raise PoisonMessage(str(exc)) from exc
    if owner is not None and attributes.source != owner:
        raise ForeignSource(f"ce-source {attributes.source!r} does not own this stream ({owner})")
    registration = handlers.get(subject)
    if registration is None:
        raise PoisonMessage(f"no handler for {subject}")
    claimed = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        attributes.id,
    )
    if not claimed:
        return False
    event = registration.decode(attributes, payload, stream_seq)
    # Continue the producer's trace, so whatever this handler publishes joins it too.
    carrier = {"traceparent": attributes.traceparent} if attributes.traceparent else {}
    if attributes.tracestate and carrier:
        carrier["tracestate"] = attributes.tracestate
    with (
        _tracer.start_as_current_span(
            f"{subject} process",
            context=_propagator.extract(carrier),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": str(attributes.id),
                "messaging.consumer.group.name": consumer,
            },
        ),
        acting(_event_scope(consumer, subject, attributes, headers)) as scope,
    ):
        await registration.handler(conn, event)
        await record(conn, scope, always=True)
    return True


def _event_scope(
    consumer: str, subject: str, attributes: EventAttributes, headers: Mapping[str, str]
) -> AuditScope:
    """Who applies the event: this service, for the event's actor (or whom that acted for)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    engagement = clean(lowered.get(ENGAGEMENT_HEADER))
    return AuditScope(
        actor=service_actor(consumer.partition("-")[0]),
        request_id=clean(attributes.request_id),
        on_behalf_of=clean(attributes.on_behalf_of) or clean(attributes.actor),
        operation=subject,
        targets=(attributes.aggregate_id,),
        engagement_ids=(engagement,) if engagement else (),
        event_id=attributes.id,
    )
