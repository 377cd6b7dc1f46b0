"""Composition root of the billing service."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import asyncpg

from mesh.db import in_transaction
from mesh.events.consumer import EventConsumer
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from services.billing.domain.taxes import DEFAULT_LEGAL_ENTITIES, parse_legal_entities
from services.billing.grpc_api import BillingServicer
from services.billing.handlers import BillingRepository, LegalEntities
from services.billing.intake import customer_handlers, project_handlers
from services.billing.store import BillingStore
from weftwork.billing.v1 import billing_service_pb2, billing_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = billing_service_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name
# "CODE:COUNTRY:VAT_PERCENT,...", overriding or adding to the defaults (US01, UK01, DE01).
LEGAL_ENTITIES_VARIABLE = "WEFTWORK_BILLING_LEGAL_ENTITIES"


def transactor(
    pool: asyncpg.Pool, isolation: str = "read_committed"
) -> Callable[[Callable[[BillingRepository], Awaitable[T]]], Awaitable[T]]:
    """Runs a use case with a repository bound to one transaction (retried on conflicts)."""

    async def transact(work: Callable[[BillingRepository], Awaitable[T]]) -> T:
        return await in_transaction(
            pool, lambda conn: work(BillingStore(conn)), isolation=isolation
        )

    return transact


def service_spec(entities: LegalEntities = DEFAULT_LEGAL_ENTITIES) -> ServiceSpec:
    def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
        servicer = BillingServicer(
            transactor(ctx.pool), transactor(ctx.pool, "repeatable_read"), entities
        )
        return [
            ServiceBinding(
                FULL_NAME, billing_service_pb2_grpc.add_BillingServiceServicer_to_server, servicer
            )
        ]

    def consumers(ctx: ServiceContext) -> Sequence[EventConsumer]:
        return [
            ctx.consumer("project", project_handlers(), name="billing-project"),
            ctx.consumer("customer", customer_handlers(), name="billing-customer"),
        ]

    return ServiceSpec(
        name="billing",
        directory=Path(__file__).parent,
        bindings=bindings,
        consumers=consumers,
        callers=gateway_and(FULL_NAME),  # no service calls billing: it learns from events
    )


SPEC = service_spec()


def main() -> None:
    try:
        entities = parse_legal_entities(os.environ.get(LEGAL_ENTITIES_VARIABLE, ""))
    except ValueError as exc:
        raise SystemExit(f"{LEGAL_ENTITIES_VARIABLE}: {exc}") from None
    run(service_spec(entities))
