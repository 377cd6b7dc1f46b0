"""The gateway process: Strawberry on Starlette, served by uvicorn."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from gateway.auth import TokenVerifier
from gateway.cache import ResponseCache
from gateway.clients import ServiceClients
from gateway.console.pages import Console
from gateway.documents.routes import InvoiceDocuments
from gateway.exports import journal_csv_endpoint
from gateway.hooks import PREFIX, HookApp, HookSender
from gateway.invalidation import Invalidation
from gateway.limits import BodyLimit, BoundedConcurrency, HeaderLimit
from gateway.metrics import GraphQLMetrics
from gateway.view import WeftworkGraphQL
from mesh.events.nats import NatsConnection, nats_tls
from mesh.logging import configure_logging
from mesh.settings import GATEWAY, Settings, load_settings
from mesh.telemetry import configure_tracing


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


class GatewayApp(Starlette):
    """Starlette, with webhook intake (POST /hooks/{source}) answered before the middleware
    and the router: it needs neither (gateway/hooks.py caps the body itself) and is measured
    against a bare endpoint."""

    def __init__(self, hooks: HookApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hooks = hooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.hooks(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    clients = ServiceClients(settings)
    verifier = TokenVerifier.from_settings(settings)
    # Subscriptions read live events from NATS; connected in the background, never blocking start.
    tls = nats_tls(settings.tls_identity(GATEWAY))  # used when NATS requires TLS
    nats = NatsConnection(settings.nats_url, name="weftwork-gateway", tls=tls)
    metrics = GraphQLMetrics()
    console = Console(dev_mode=settings.dev_mode)
    cache = ResponseCache(settings.gateway_cache_mb * 1024 * 1024, registry=metrics.registry)
    invalidation = Invalidation(cache, nats)
    graphql = WeftworkGraphQL(
        settings, clients, verifier, nats, metrics, ide=console.graphiql, cache=cache
    )
    documents = InvoiceDocuments(settings, clients, verifier)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        nats.start()
        invalidation.start()
        yield
        await invalidation.close()
        await nats.close()
        await clients.close()

    app = GatewayApp(
        HookApp(HookSender(clients.hooks), settings.connect.max_body_bytes),
        routes=[
            Route(
                "/graphql",
                BoundedConcurrency(graphql, settings.gateway_max_concurrent_operations),
                methods=["GET", "POST"],
            ),
            WebSocketRoute("/graphql", graphql),
            Route(
                "/exports/journal/{entity}/{period}.csv",
                journal_csv_endpoint(settings, clients, verifier),
                methods=["GET"],
            ),
            *documents.routes(),  # invoices and credit notes as PDFs (gateway/documents)
            Route("/healthz", healthz),
            Route("/readyz", healthz),
            # Prometheus, from inside the cluster: the Ingress does not route it (k8s/base).
            Route("/metrics", metrics.endpoint),
            *console.routes(),  # the web console at / (gateway/console)
        ],
        middleware=[
            Middleware(HeaderLimit, max_bytes=settings.gateway_max_authorization_bytes),
            Middleware(BodyLimit, max_bytes=settings.gateway_max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.clients = clients
    app.state.metrics = metrics
    app.state.cache = cache
    app.state.invalidation = invalidation
    app.state.schema = graphql.schema  # what the fuzz suite generates requests from
    app.state.settings = settings
    return app


def main() -> None:
    settings = load_settings()
    configure_logging("gateway", settings.log_level)
    configure_tracing("gateway")
    uvicorn.run(
        # A factory: uvicorn builds the app inside its own event loop, where the gRPC channels
        # (bound to the loop they are created in) will be used.
        functools.partial(create_app, settings),
        factory=True,
        host=settings.host,
        port=settings.gateway_port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        ws_max_size=settings.gateway_max_body_bytes,
    )
