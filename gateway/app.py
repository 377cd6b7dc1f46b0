"""The gateway process: Strawberry on Starlette, served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from gateway.auth import TokenVerifier
from gateway.clients import ServiceClients
from gateway.console.pages import Console
from gateway.context import Context
from gateway.errors import with_codes
from gateway.hooks import hook_endpoint
from gateway.metrics import GraphQLMetrics
from gateway.schema import build_schema
from mesh.events.nats import NatsConnection, nats_tls
from mesh.logging import configure_logging
from mesh.settings import GATEWAY, Settings, load_settings
from mesh.telemetry import configure_tracing


class WeftworkGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        settings: Settings,
        clients: ServiceClients,
        verifier: TokenVerifier,
        nats: NatsConnection,
        metrics: GraphQLMetrics,
        ide: Callable[[Request], Awaitable[Response]] | None = None,
    ) -> None:
        super().__init__(
            build_schema(dev_mode=settings.dev_mode, metrics=metrics),
            graphql_ide="graphiql" if settings.dev_mode else None,
        )
        self.settings = settings
        self.clients = clients
        self.verifier = verifier
        self.nats = nats
        self.ide = ide

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the console's pinned local copies, never from a CDN."""
        assert self.ide is not None  # graphql_ide is only set in development mode
        return await self.ide(request)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            clients=self.clients,
            verifier=self.verifier,
            settings=self.settings,
            authorization=request.headers.get("authorization"),
            nats=self.nats,
            request=request,
            response=response,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = [with_codes(error) for error in result.errors]
        return await super().process_result(request, result)


class BodyLimit:
    """Refuses request bodies over the cap before the GraphQL layer reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {
            "errors": [
                {
                    "message": f"request body over {self.max_bytes} bytes",
                    "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                }
            ]
        }
        await JSONResponse(body, status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass


class BoundedConcurrency:
    """At most `limit` GraphQL requests over HTTP run at once; the others wait their turn.

    Execution is CPU-bound, so more at once adds no throughput, only memory: a page of 100
    engagements holds megabytes of objects while it runs, and 64 of them at once took the
    gateway past 240 MB. Nobody is refused; subscriptions (WebSocket) are not counted.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.turns = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.turns:
            await self.app(scope, receive, send)


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    clients = ServiceClients(settings)
    verifier = TokenVerifier(secret=settings.jwt_secret, public_key=settings.jwt_public_key)
    # Subscriptions read live events from NATS; connected in the background, never blocking start.
    tls = nats_tls(settings.tls_identity(GATEWAY))  # used when NATS requires TLS
    nats = NatsConnection(settings.nats_url, name="weftwork-gateway", tls=tls)
    metrics = GraphQLMetrics()
    console = Console(dev_mode=settings.dev_mode)
    graphql = WeftworkGraphQL(settings, clients, verifier, nats, metrics, ide=console.graphiql)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        nats.start()
        yield
        await nats.close()
        await clients.close()

    app = Starlette(
        routes=[
            Route(
                "/graphql",
                BoundedConcurrency(graphql, settings.gateway_max_concurrent_operations),
                methods=["GET", "POST"],
            ),
            WebSocketRoute("/graphql", graphql),
            Route(
                "/hooks/{source}",
                hook_endpoint(clients, settings.connect.max_body_bytes),
                methods=["POST"],
            ),
            Route("/healthz", healthz),
            Route("/readyz", healthz),
            # Prometheus, from inside the cluster: the Ingress does not route it (k8s/base).
            Route("/metrics", metrics.endpoint),
            *console.routes(),  # the web console at / (gateway/console)
        ],
        middleware=[Middleware(BodyLimit, max_bytes=settings.gateway_max_body_bytes)],
        lifespan=lifespan,
    )
    app.state.clients = clients
    app.state.metrics = metrics
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
    )
