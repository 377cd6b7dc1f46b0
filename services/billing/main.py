"""Composition root of the billing service."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from mesh.db import transactor
from mesh.events.consumer import EventConsumer
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from mesh.settings import Settings
from services.billing.consumers import customer_events_handlers, project_events_handlers
from services.billing.domain.taxes import legal_entities
from services.billing.grpc_api import BillingServicer
from services.billing.handlers import LegalEntities
from services.billing.store import BillingStore
from weftwork.billing.v1 import billing_service_pb2, billing_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = billing_service_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name


def configured_entities(settings: Settings) -> LegalEntities:
    """The entities of WEFTWORK_LEGAL_ENTITIES (US01, UK01, DE01 when unset)."""
    return legal_entities(settings.legal_entities)


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    servicer = BillingServicer(
        transactor(ctx.pool, BillingStore),
        transactor(ctx.pool, BillingStore, isolation="repeatable_read"),
        configured_entities(ctx.settings),
    )
    add = billing_service_pb2_grpc.add_BillingServiceServicer_to_server
    return [ServiceBinding(FULL_NAME, add, servicer)]


def consumers(ctx: ServiceContext) -> Sequence[EventConsumer]:
    return [
        ctx.consumer("project", project_events_handlers(BillingStore), name="billing-project"),
        ctx.consumer("customer", customer_events_handlers(BillingStore), name="billing-customer"),
    ]


SPEC = ServiceSpec(
    name="billing",
    directory=Path(__file__).parent,
    bindings=bindings,
    consumers=consumers,
    callers=gateway_and(FULL_NAME),  # no service calls billing: it learns from events
)


def main() -> None:
    run(SPEC)
