"""Composition root of the project service."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import asyncpg

from mesh.db import in_transaction, on_connection
from mesh.events.consumer import EventConsumer
from mesh.events.handlers import Event, EventHandlers
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from services.project.customers import CustomerDirectory
from services.project.grpc_api import ProjectServicer
from services.project.handlers.engagements import repoint_merged_customer
from services.project.repository import ProjectRepository, Transact
from services.project.store import ProjectStore
from weftwork.customer.v1 import events_pb2 as customer_events
from weftwork.project.v1 import project_service_pb2, project_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = project_service_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name
CUSTOMER_MERGED = "weftwork.customer.customer.merged.v1"


def transactor(pool: asyncpg.Pool, *, read_only: bool = False) -> Transact:
    """Runs a use case with a repository bound to one transaction (rerun on conflicts); a
    read_only one on a connection without a transaction (see mesh.db.on_connection)."""

    async def transact(work: Callable[[ProjectRepository], Awaitable[T]]) -> T:
        def bound(conn: asyncpg.Connection) -> Awaitable[T]:
            return work(ProjectStore(conn))

        if read_only:
            return await on_connection(pool, bound)
        return await in_transaction(pool, bound)

    return transact


async def on_customer_merged(
    conn: asyncpg.Connection, event: Event[customer_events.CustomerMerged]
) -> None:
    """Runs in the consumer's transaction, after its inbox claimed the event."""
    merged = event.message
    await repoint_merged_customer(
        ProjectStore(conn), uuid.UUID(merged.survivor_id), uuid.UUID(merged.merged_id)
    )


def customer_events_handlers() -> EventHandlers:
    handlers = EventHandlers()
    handlers.register(CUSTOMER_MERGED, customer_events.CustomerMerged, on_customer_merged)
    return handlers


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    servicer = ProjectServicer(
        transactor(ctx.pool),
        CustomerDirectory(ctx.channel("customer")),
        transactor(ctx.pool, read_only=True),
    )
    return [
        ServiceBinding(
            FULL_NAME, project_service_pb2_grpc.add_ProjectServiceServicer_to_server, servicer
        )
    ]


def consumers(ctx: ServiceContext) -> Sequence[EventConsumer]:
    return [ctx.consumer("customer", customer_events_handlers(), name="project-customer")]


# Connect turns a won deal from a CRM webhook into an engagement, as the gateway does.
CALLERS = gateway_and(FULL_NAME, {"CreateEngagementFromOpportunity": {"connect"}})
SPEC = ServiceSpec(
    name="project",
    directory=Path(__file__).parent,
    bindings=bindings,
    consumers=consumers,
    callers=CALLERS,
)


def main() -> None:
    run(SPEC)
