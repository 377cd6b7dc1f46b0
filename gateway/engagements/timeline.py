"""The engagement's lineage: every event any service produced for it, in order, and live."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

import strawberry

from mesh.events.cloudevents import ENGAGEMENT_HEADER, InvalidEventHeaders, parse_event_headers
from mesh.events.nats import NatsConnection
from weftwork.mesh.v1 import lineage_service_pb2 as pb


@strawberry.type(description="One event in an engagement's life, as its producer recorded it.")
class LifecycleEvent:
    id: strawberry.ID
    type: str = strawberry.field(description="The subject, e.g. weftwork.billing.invoice.issued.v1")
    source: str
    aggregate_id: str
    aggregate_version: int
    time: dt.datetime
    published: bool
    actor: str | None = strawberry.field(
        default=None,
        description="Who did this step: the JWT sub of the user, or service:<name> for an "
        "event-driven one (ce-actor)",
    )
    on_behalf_of: str | None = strawberry.field(
        default=None, description="For an event-driven step: the actor that caused it"
    )

    @classmethod
    def from_proto(cls, e: pb.LineageEvent) -> LifecycleEvent:
        return cls(
            id=strawberry.ID(e.id),
            type=e.type,
            source=e.source,
            aggregate_id=e.aggregate_id,
            aggregate_version=e.aggregate_version,
            time=e.time.ToDatetime(dt.UTC),
            published=e.published,
            actor=e.actor or None,
            on_behalf_of=e.on_behalf_of or None,
        )


async def live_events(
    nats: NatsConnection, engagement_id: str
) -> AsyncGenerator[LifecycleEvent, None]:
    """Its events as they are published: live and at-most-once (the timeline has the past)."""
    await nats.wait_connected(10)
    subscription = await nats.client.subscribe("weftwork.>")
    seen: set[str] = set()  # a relay re-publishing after a crash sends an event twice
    try:
        async for message in subscription.messages:
            headers = message.headers or {}
            if headers.get(ENGAGEMENT_HEADER) != engagement_id:
                continue
            try:
                attributes = parse_event_headers(headers)
            except InvalidEventHeaders:
                continue
            if str(attributes.id) in seen:
                continue
            seen.add(str(attributes.id))
            yield LifecycleEvent(
                id=strawberry.ID(str(attributes.id)),
                type=attributes.type,
                source=attributes.source,
                aggregate_id=attributes.aggregate_id,
                aggregate_version=attributes.aggregate_version,
                time=attributes.time,
                published=True,
                actor=attributes.actor,
                on_behalf_of=attributes.on_behalf_of,
            )
    finally:
        await subscription.unsubscribe()
