"""Dead letters over GraphQL: what each service gave up on, and the operator's replay or discard."""

from __future__ import annotations

import asyncio
import datetime as dt

import strawberry

from gateway.context import Info
from gateway.errors import BadUserInput, Forbidden, call
from weftwork.mesh.v1 import integration_service_pb2 as pb

# Reading errors and subjects is for the integration team (admin) and finance; dead letters are
# not scoped to legal entities, so only callers who see every entity read them.
READERS = frozenset({"admin", "finance"})


@strawberry.type(description="A message a consumer gave up on, awaiting replay or discard.")
class DeadLetter:
    id: strawberry.ID
    service: str
    consumer: str
    stream: str
    subject: str
    event_id: str | None
    error: str
    deliveries: int
    status: str = strawberry.field(description="pending or replay_requested")
    created_at: dt.datetime

    @classmethod
    def from_proto(cls, service: str, d: pb.DeadLetter) -> DeadLetter:
        return cls(
            id=strawberry.ID(d.id),
            service=service,
            consumer=d.consumer,
            stream=d.stream,
            subject=d.subject,
            event_id=d.event_id or None,
            error=d.error,
            deliveries=d.deliveries,
            status=d.status,
            created_at=d.create_time.ToDatetime(dt.UTC),
        )


def _services(info: Info, service: str | None) -> list[str]:
    known = list(info.context.clients.integration)
    if service is None:
        return known
    if service not in known:
        raise BadUserInput(
            f"unknown service {service!r}",
            fieldViolations=[{"field": "service", "description": f"one of {', '.join(known)}"}],
        )
    return [service]


@strawberry.type
class DeadLetterQueries:
    @strawberry.field(
        description="Open dead letters, oldest first (admin or finance, all entities)."
    )
    async def dead_letters(
        self, info: Info, service: str | None = None, consumer: str | None = None
    ) -> list[DeadLetter]:
        principal = info.context.principal
        if not principal.roles & READERS or principal.entities is not None:
            raise Forbidden("dead letters need the admin or finance role over every entity")
        clients = info.context.clients.integration
        names = _services(info, service)
        request = pb.ListDeadLettersRequest(consumer=consumer or "", page_size=100)
        answers = await asyncio.gather(
            *(call(name, clients[name].ListDeadLetters(request)) for name in names)
        )
        found = [
            DeadLetter.from_proto(name, d)
            for name, answer in zip(names, answers, strict=True)
            for d in answer.dead_letters
        ]
        return sorted(found, key=lambda d: d.created_at)


async def _decide(info: Info, operation: str, service: str, ids: list[strawberry.ID]) -> int:
    info.context.principal.require(operation)
    [name] = _services(info, service)
    stub = info.context.clients.integration[name]
    named = [str(i) for i in ids]
    if operation == "replayDeadLetters":
        replayed = await call(name, stub.ReplayDeadLetters(pb.ReplayDeadLettersRequest(ids=named)))
        return int(replayed.changed)
    discarded = await call(name, stub.DiscardDeadLetters(pb.DiscardDeadLettersRequest(ids=named)))
    return int(discarded.changed)


@strawberry.type
class DeadLetterMutations:
    @strawberry.mutation(description="Replay dead letters of one service; how many were queued.")
    async def replay_dead_letters(self, info: Info, service: str, ids: list[strawberry.ID]) -> int:
        return await _decide(info, "replayDeadLetters", service, ids)

    @strawberry.mutation(description="Discard dead letters of one service; how many were open.")
    async def discard_dead_letters(self, info: Info, service: str, ids: list[strawberry.ID]) -> int:
        return await _decide(info, "discardDeadLetters", service, ids)
