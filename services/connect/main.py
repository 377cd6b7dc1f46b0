"""Composition root of the connect service."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import httpx

from mesh.db import transactor
from mesh.events.consumer import EventConsumer
from mesh.events.streams import stream_name
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import BackgroundTask, ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from mesh.settings import OPS
from services.connect.adapters import http as outbound_http
from services.connect.adapters.floors import ConsumerFloors
from services.connect.adapters.hubspot import HubSpotDeals
from services.connect.adapters.project import ProjectEngagements
from services.connect.adapters.secrets import FernetBox
from services.connect.consumers import STREAMS, catalogue, consumer_name, event_handlers
from services.connect.domain.delivery import RetryPolicy
from services.connect.grpc_api import ConnectServicer
from services.connect.handlers.deliveries import Delivering
from services.connect.handlers.endpoints import EndpointRules
from services.connect.handlers.processing import Processing
from services.connect.store import ConnectStore
from services.connect.workers.deliveries import DeliveryWorker
from services.connect.workers.receipts import ReceiptWorker
from weftwork.connect.v1 import connect_service_pb2, connect_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = connect_service_pb2.DESCRIPTOR.services_by_name["ConnectService"].full_name
CRM_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The gateway (webhooks, GraphQL) may call everything; `weftwork connect apply` (ops) what it
# needs to load sources, endpoints and write-backs from a file.
APPLY = (
    "ListInboundSources",
    "CreateInboundSource",
    "UpdateInboundSource",
    "ListWebhookEndpoints",
    "CreateWebhookEndpoint",
    "UpdateWebhookEndpoint",
    "SetCrmWriteBack",
)
CALLERS = gateway_and(FULL_NAME, {method: {OPS} for method in APPLY})


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    box = FernetBox(ctx.settings.connect.secret_key)
    rules = EndpointRules(catalogue.EVENT_TYPES, ctx.settings.outbound.allow_insecure)
    servicer = ConnectServicer(
        transactor(ctx.pool, ConnectStore),
        transactor(ctx.pool, ConnectStore, read_only=True),
        box,
        rules,
    )
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
    return [worker.run, delivery_worker(ctx).run]


def delivery_worker(ctx: ServiceContext) -> DeliveryWorker:
    out = ctx.settings.outbound
    http = outbound_http.client(timeout=out.timeout_seconds, allow_insecure=out.allow_insecure)
    delivering = Delivering(
        sender=outbound_http.HttpSender(http),
        box=FernetBox(ctx.settings.connect.secret_key),
        policy=RetryPolicy(
            out.retry_window_seconds, out.backoff_base_seconds, out.backoff_cap_seconds
        ),
        disable_after_seconds=out.disable_after_seconds,
    )
    floors = ConsumerFloors(
        ctx.nats,
        {stream: (stream_name(stream), consumer_name(stream)) for stream in STREAMS},
    )
    return DeliveryWorker(
        ctx.pool,
        delivering,
        batch_size=out.batch,
        lanes=out.lanes,
        poll_interval=out.poll_seconds,
        floors=floors,
    )


def consumers(ctx: ServiceContext) -> Sequence[EventConsumer]:
    """PROJECT, BILLING, REVENUE and CUSTOMER fan out into webhook and write-back deliveries."""
    table = event_handlers()
    return [ctx.consumer(stream, table, name=consumer_name(stream)) for stream in STREAMS]


SPEC = ServiceSpec(
    name="connect",
    directory=Path(__file__).parent,
    bindings=bindings,
    consumers=consumers,
    workers=workers,
    callers=CALLERS,
    # Seven connections LISTEN for good (four dead-letter replayers, the relay, receipts and
    # deliveries): the consumers, workers and API share the rest.
    pool_max_size=24,
)


def main() -> None:
    run(SPEC)
