"""The PROJECT and BILLING events revenue consumes: one table of subject -> handler for both
streams (each consumer takes the subjects of its own), and what a handler does with one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import asyncpg
from google.protobuf.message import Message

from mesh.errors import DomainError
from mesh.events.handlers import Delivery, Event, EventHandlers, PoisonMessage
from services.revenue import handlers
from services.revenue.convert import amendments, facts
from services.revenue.convert.events import (
    ACTIVATED,
    AMENDED,
    FACTS,
    engagement_of,
    fact_from_payload,
)
from services.revenue.handlers import ParkedEvent, RevenueRepository
from weftwork.project.v1 import events_pb2 as project

log = logging.getLogger(__name__)


class Books(RevenueRepository, Protocol):
    """RevenueRepository and the batch lock a consumer takes first."""

    async def lock_engagements(self, ids: Sequence[uuid.UUID]) -> None: ...


async def receive(
    repo: RevenueRepository, subject: str, message: Message, event_id: uuid.UUID
) -> None:
    """Applies one event; one that breaks its contract is PoisonMessage (no retry fixes it)."""
    try:
        if subject == ACTIVATED:
            assert isinstance(message, project.EngagementActivated)
            for parked in await handlers.set_up_contract(repo, facts.terms(message)):
                await _apply_parked(repo, parked)
            return
        if subject == AMENDED:
            assert isinstance(message, project.EngagementAmended)
            await handlers.amend_terms(repo, amendments.amended(message))
            return
        fact = FACTS[subject][1](message, event_id)
        early = ParkedEvent(event_id, fact.engagement_id, subject, message.SerializeToString())
        await handlers.apply_or_park(repo, fact, early)
    except DomainError as exc:
        raise PoisonMessage(f"{subject} {event_id}: {exc.message}") from exc


async def _apply_parked(repo: RevenueRepository, parked: ParkedEvent) -> None:
    fact = fact_from_payload(parked.subject, parked.payload, parked.event_id)
    try:
        await handlers.apply_fact(repo, fact)  # a domain error is raised before any write
    except DomainError as exc:
        # One broken early event must not block its engagement: it stays parked, and logged.
        log.error(
            "parked event cannot be applied",
            extra={"event_id": str(parked.event_id), "error": exc.message},
        )
        await repo.park(parked)


def event_handlers(books: Callable[[asyncpg.Connection], Books]) -> EventHandlers:
    """The table, with the books each event is applied to in its consumer's transaction."""

    async def handle(conn: asyncpg.Connection, event: Event[Any]) -> None:
        await receive(books(conn), event.type, event.message, event.id)

    async def lock_engagements(conn: asyncpg.Connection, batch: Sequence[Delivery]) -> None:
        """Lock every engagement of a batch up front, in id order, before applying any of it.

        A batch is applied in one transaction, in arrival order, and each event holds its
        engagement (and contract row) until commit. Two consumers whose batches share
        engagements in different orders (two replicas, or revenue's two streams) would
        deadlock; taken in one order, the later batch waits for the earlier instead.
        """
        found = (engagement_of(d.subject, d.payload) for d in batch)
        await books(conn).lock_engagements(sorted({e for e in found if e is not None}))

    table = EventHandlers(before_batch=lock_engagements)
    table.register(ACTIVATED, project.EngagementActivated, handle)
    table.register(AMENDED, project.EngagementAmended, handle)
    for subject, (message_type, _) in FACTS.items():
        table.register(subject, message_type, handle)
    return table
