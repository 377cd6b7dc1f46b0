"""The PROJECT and BILLING events revenue consumes, wired to its use cases."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
from google.protobuf.message import Message

from mesh.errors import DomainError
from mesh.events.handlers import Event, EventHandlers, PoisonMessage
from services.revenue import handlers, incoming
from services.revenue.handlers import ParkedEvent, RevenueRepository
from services.revenue.store import RevenueStore
from weftwork.project.v1 import events_pb2 as project

log = logging.getLogger(__name__)


async def receive(
    repo: RevenueRepository, subject: str, message: Message, event_id: uuid.UUID
) -> None:
    """Applies one event; one that breaks its contract is PoisonMessage (no retry fixes it)."""
    try:
        if subject == incoming.ACTIVATED:
            assert isinstance(message, project.EngagementActivated)
            for parked in await handlers.set_up_contract(repo, incoming.terms(message)):
                await _apply_parked(repo, parked)
            return
        fact = incoming.FACTS[subject][1](message, event_id)
        early = ParkedEvent(event_id, fact.engagement_id, subject, message.SerializeToString())
        await handlers.apply_or_park(repo, fact, early)
    except DomainError as exc:
        raise PoisonMessage(f"{subject} {event_id}: {exc.message}") from exc


async def _apply_parked(repo: RevenueRepository, parked: ParkedEvent) -> None:
    fact = incoming.fact_from_payload(parked.subject, parked.payload, parked.event_id)
    try:
        await handlers.apply_fact(repo, fact)  # a domain error is raised before any write
    except DomainError as exc:
        # One broken early event must not block its engagement: it stays parked, and logged.
        log.error(
            "parked event cannot be applied",
            extra={"event_id": str(parked.event_id), "error": exc.message},
        )
        await repo.park(parked)


async def _handle(conn: asyncpg.Connection, event: Event[Any]) -> None:
    await receive(RevenueStore(conn), event.type, event.message, event.id)


def event_handlers() -> EventHandlers:
    """One table for both consumers: each takes the subjects of its own stream."""
    table = EventHandlers()
    table.register(incoming.ACTIVATED, project.EngagementActivated, _handle)
    for subject, (message_type, _) in incoming.FACTS.items():
        table.register(subject, message_type, _handle)
    return table
