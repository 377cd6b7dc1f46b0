"""integrationStatus: is every event where it should be? Outboxes, consumers, dead letters."""

from __future__ import annotations

import asyncio

import strawberry
from nats.js.errors import NotFoundError

from gateway.context import Info
from gateway.errors import Unavailable, call
from mesh.events.nats import NatsUnavailable
from mesh.events.streams import DOMAINS, stream_name
from weftwork.mesh.v1 import integration_service_pb2 as pb

# Operational state of every stream and service: for the integration team (admin) and finance.
READERS = frozenset({"admin", "finance"})


@strawberry.type
class ConsumerStatus:
    stream: str
    name: str
    pending: int = strawberry.field(description="In the stream, not yet delivered.")
    ack_pending: int = strawberry.field(description="Delivered, not yet acknowledged.")
    redelivered: int


@strawberry.type
class OutboxStatus:
    service: str
    unpublished: int
    oldest_age_seconds: float


@strawberry.type
class DeadLetterStatus:
    service: str
    consumer: str
    pending: int
    replay_requested: int


@strawberry.type
class IntegrationStatus:
    settled: bool = strawberry.field(
        description="Nothing waits anywhere: outboxes empty, consumers caught up, no dead letters."
    )
    consumers: list[ConsumerStatus]
    outboxes: list[OutboxStatus]
    dead_letters: list[DeadLetterStatus]


async def _consumers(info: Info) -> list[ConsumerStatus]:
    try:
        js = info.context.nats.jetstream
    except NatsUnavailable:
        raise Unavailable("NATS is unreachable; retry later") from None
    found: list[ConsumerStatus] = []
    for domain in DOMAINS:
        try:
            consumers = await js.consumers_info(stream_name(domain))
        except NotFoundError:
            continue  # the producing service has not created its stream yet
        found += [
            ConsumerStatus(
                stream=stream_name(domain),
                name=c.name,
                pending=c.num_pending or 0,
                ack_pending=c.num_ack_pending or 0,
                redelivered=c.num_redelivered or 0,
            )
            for c in consumers
        ]
    return found


@strawberry.type
class OperationsQueries:
    @strawberry.field
    async def integration_status(self, info: Info) -> IntegrationStatus:
        info.context.principal.require_role("integrationStatus", READERS)
        clients = info.context.clients
        services = list(clients.integration)
        answers = await asyncio.gather(
            *(
                call(
                    name,
                    clients.integration[name].GetIntegrationStatus(
                        pb.GetIntegrationStatusRequest()
                    ),
                )
                for name in services
            )
        )
        consumers = await _consumers(info)
        outboxes = [
            OutboxStatus(
                service=a.service,
                unpublished=a.outbox_unpublished,
                oldest_age_seconds=a.outbox_oldest_age_seconds,
            )
            for a in answers
        ]
        dead = [
            DeadLetterStatus(
                service=a.service,
                consumer=d.consumer,
                pending=d.pending,
                replay_requested=d.replay_requested,
            )
            for a in answers
            for d in a.dead_letters
        ]
        settled = (
            all(o.unpublished == 0 for o in outboxes)
            and all(c.pending == 0 and c.ack_pending == 0 for c in consumers)
            and not dead
        )
        return IntegrationStatus(
            settled=settled, consumers=consumers, outboxes=outboxes, dead_letters=dead
        )
