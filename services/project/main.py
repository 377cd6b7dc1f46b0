"""Composition root of the project service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import asyncpg

from mesh.db import in_transaction, on_connection
from mesh.events.consumer import EventConsumer
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from services.project.adapters.customers import CustomerDirectory
from services.project.consumers import customer_events_handlers
from services.project.grpc_api import ProjectServicer
from services.project.handlers import ProjectRepository, Transact
from services.project.store import ProjectStore
from weftwork.project.v1 import project_service_pb2, project_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = project_service_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name


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


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    servicer = ProjectServicer(
        transactor(ctx.pool),
        CustomerDirectory(ctx.channel("customer")),
        transactor(ctx.pool, read_only=True),
        ctx.settings.approval_required_entities,
    )
    add = project_service_pb2_grpc.add_ProjectServiceServicer_to_server
    return [ServiceBinding(FULL_NAME, add, servicer)]


def consumers(ctx: ServiceContext) -> Sequence[EventConsumer]:
    table = customer_events_handlers(ProjectStore)
    return [ctx.consumer("customer", table, name="project-customer")]


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
