"""The events the project service consumes: each stream's table of subject -> handler."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg

from mesh.events.handlers import Event, EventHandlers
from services.project.handlers import ProjectRepository
from services.project.handlers.engagements import repoint_merged_customer
from weftwork.customer.v1 import events_pb2 as customer_events

CUSTOMER_MERGED = "weftwork.customer.customer.merged.v1"


def customer_events_handlers(
    repository: Callable[[asyncpg.Connection], ProjectRepository],
) -> EventHandlers:
    """CUSTOMER: merges repoint engagements (in the consumer's transaction, after its inbox)."""

    async def customer_merged(
        conn: asyncpg.Connection, event: Event[customer_events.CustomerMerged]
    ) -> None:
        merged = event.message
        await repoint_merged_customer(
            repository(conn), uuid.UUID(merged.survivor_id), uuid.UUID(merged.merged_id)
        )

    table = EventHandlers()
    table.register(CUSTOMER_MERGED, customer_events.CustomerMerged, customer_merged)
    return table
