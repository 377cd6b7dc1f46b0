"""Composition root of the connect service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx

from mesh.db import in_transaction, on_connection
from mesh.grpc.server import BackgroundTask, ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from services.connect.engagements import ProjectEngagements
from services.connect.grpc_api import ConnectServicer
from services.connect.handlers.ports import ConnectRepository, Transact
from services.connect.handlers.processing import Processing
from services.connect.hubspot_api import HubSpotDeals
from services.connect.secrets import FernetBox
from services.connect.store import ConnectStore
from services.connect.worker import ReceiptWorker
from weftwork.connect.v1 import connect_service_pb2, connect_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = connect_service_pb2.DESCRIPTOR.services_by_name["ConnectService"].full_name
CRM_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def transactor(pool: asyncpg.Pool, *, read_only: bool = False) -> Transact[T]:
    """Runs a use case with a repository bound to one transaction (rerun on conflicts); a
    read_only one on a connection without a transaction (see mesh.db.on_connection)."""

    async def transact(work: Callable[[ConnectRepository], Awaitable[T]]) -> T:
        def bound(conn: asyncpg.Connection) -> Awaitable[T]:
            return work(ConnectStore(conn))

        if read_only:
            return await on_connection(pool, bound)
        return await in_transaction(pool, bound)

    return transact


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    box = FernetBox(ctx.settings.connect.secret_key)
    servicer = ConnectServicer(transactor(ctx.pool), transactor(ctx.pool, read_only=True), box)
    return [
        ServiceBinding(
            FULL_NAME, connect_service_pb2_grpc.add_ConnectServiceServicer_to_server, servicer
        )
    ]


def workers(ctx: ServiceContext) -> Sequence[BackgroundTask]:
    config = ctx.settings.connect
    processing = Processing(
        engagements=ProjectEngagements(ctx.channel("project")),
        deals=HubSpotDeals(httpx.AsyncClient(timeout=CRM_TIMEOUT, follow_redirects=False)),
        box=FernetBox(config.secret_key),
        hubspot_api_url=config.hubspot_api_url,
        max_attempts=config.max_attempts,
        retry_cap=config.retry_cap_seconds,
    )
    worker = ReceiptWorker(
        ctx.pool, processing, batch_size=config.worker_batch, poll_interval=config.poll_seconds
    )
    return [worker.run]


SPEC = ServiceSpec(
    name="connect", directory=Path(__file__).parent, bindings=bindings, workers=workers
)


def main() -> None:
    run(SPEC)
