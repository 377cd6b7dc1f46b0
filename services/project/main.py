"""Composition root of the project service."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from mesh.db import transactor
from mesh.events.consumer import EventConsumer
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from services.project.adapters.customers import CustomerDirectory
from services.project.consumers import customer_events_handlers
from services.project.grpc_api import ProjectServicer
from services.project.store import ProjectStore
from weftwork.project.v1 import project_service_pb2, project_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = project_service_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    servicer = ProjectServicer(
        transactor(ctx.pool, ProjectStore),
        CustomerDirectory(ctx.channel("customer")),
        transactor(ctx.pool, ProjectStore, read_only=True),
        ctx.settings.legal_entities,
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
