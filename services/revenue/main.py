"""Composition root of the revenue service."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from mesh.db import transactor
from mesh.events.consumer import EventConsumer
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from mesh.settings import Settings, SettingsError
from services.revenue.consumers import event_handlers
from services.revenue.domain.accounts import ChartOfAccounts
from services.revenue.grpc_api import RevenueServicer
from services.revenue.store import RevenueStore
from weftwork.revenue.v1 import revenue_service_pb2, revenue_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = revenue_service_pb2.DESCRIPTOR.services_by_name["RevenueService"].full_name


def chart_of_accounts(settings: Settings) -> ChartOfAccounts:
    """The defaults, relabelled by WEFTWORK_REVENUE_ACCOUNT_CODES (e.g. revenue=4100)."""
    try:
        return ChartOfAccounts.with_codes(settings.account_codes)
    except ValueError as exc:
        raise SettingsError(f"WEFTWORK_REVENUE_ACCOUNT_CODES: {exc}") from None


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    chart = chart_of_accounts(ctx.settings)
    servicer = RevenueServicer(
        transactor(ctx.pool, RevenueStore),
        chart,
        transactor(ctx.pool, RevenueStore, read_only=True),
        ctx.settings.legal_entities,
    )
    add = revenue_service_pb2_grpc.add_RevenueServiceServicer_to_server
    return [ServiceBinding(FULL_NAME, add, servicer)]


def consumers(ctx: ServiceContext) -> Sequence[EventConsumer]:
    table = event_handlers(RevenueStore)
    return [
        ctx.consumer("project", table, name="revenue-project"),
        ctx.consumer("billing", table, name="revenue-billing"),
    ]


SPEC = ServiceSpec(
    name="revenue",
    directory=Path(__file__).parent,
    bindings=bindings,
    consumers=consumers,
    callers=gateway_and(FULL_NAME),  # no service calls revenue: it learns from events
)


def main() -> None:
    run(SPEC)
