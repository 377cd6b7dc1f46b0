"""The GraphQL shape of one audit entry."""

from __future__ import annotations

import datetime as dt

import strawberry

from weftwork.mesh.v1 import audit_service_pb2 as pb


@strawberry.type(description="One recorded change: who did what, when, in which request.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="<service>:<seq>, unique across services")
    time: dt.datetime
    service: str
    actor: str = strawberry.field(
        description="The JWT sub of the user, or service:<name> for event-driven effects"
    )
    on_behalf_of: str | None = strawberry.field(
        description="For event-driven effects: the actor of the event that caused them"
    )
    operation: str = strawberry.field(
        description="The gRPC method (Service/Method) or the applied event's type"
    )
    target: str | None = strawberry.field(description="The (first) id the change was about")
    targets: list[str]
    engagement_id: strawberry.ID | None
    engagement_ids: list[strawberry.ID]
    request_id: str | None = strawberry.field(description="The gateway's X-Request-Id")
    event_id: str | None = strawberry.field(description="For event-driven effects: the ce-id")

    @classmethod
    def from_proto(cls, e: pb.AuditEntry) -> AuditEntry:
        return cls(
            id=strawberry.ID(f"{e.service}:{e.seq}"),
            time=e.time.ToDatetime(dt.UTC),
            service=e.service,
            actor=e.actor,
            on_behalf_of=e.on_behalf_of or None,
            operation=e.operation,
            target=e.targets[0] if e.targets else None,
            targets=list(e.targets),
            engagement_id=strawberry.ID(e.engagement_ids[0]) if e.engagement_ids else None,
            engagement_ids=[strawberry.ID(i) for i in e.engagement_ids],
            request_id=e.request_id or None,
            event_id=e.event_id or None,
        )
