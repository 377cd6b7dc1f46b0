"""The GraphQL view: Strawberry's ASGI view with the gateway's context, response types,
trusted documents, response cache and socket guard."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.audit.scope import request_id_of
from gateway.auth import TokenVerifier
from gateway.budget import CostBudget
from gateway.cache import ResponseCache
from gateway.cached_reads import CachedReads
from gateway.clients import ServiceClients
from gateway.context import Context
from gateway.errors import GatewayError
from gateway.gate import Admission
from gateway.media import GRAPHQL_RESPONSE, request_error_status, response_media_type
from gateway.metrics import GraphQLMetrics
from gateway.schema import build_schema
from gateway.sockets import GuardedSocket, SocketCounts
from gateway.trusted import TrustedDocuments
from mesh.events.nats import NatsConnection
from mesh.settings import Settings


class WeftworkGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = GuardedSocket

    def __init__(
        self,
        settings: Settings,
        clients: ServiceClients,
        verifier: TokenVerifier,
        nats: NatsConnection,
        metrics: GraphQLMetrics,
        ide: Callable[[Request], Awaitable[Response]] | None = None,
        cache: ResponseCache | None = None,
        documents: TrustedDocuments | None = None,
    ) -> None:
        admission = Admission(
            max_cost=settings.gateway_max_cost,
            budget=CostBudget(settings.gateway_cost_per_minute),
            hide_suggestions=not settings.dev_mode,
            socket_turns=asyncio.Semaphore(settings.gateway_max_concurrent_operations),
        )
        super().__init__(
            build_schema(dev_mode=settings.dev_mode, metrics=metrics, admission=admission),
            graphql_ide="graphiql" if settings.dev_mode else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.gateway_max_subscriptions_per_connection,
        )
        self.settings = settings
        self.clients = clients
        self.verifier = verifier
        self.nats = nats
        self.sockets = SocketCounts(settings.gateway_max_connections_per_principal)
        self.ide = ide
        self.metrics = metrics
        self.documents = documents or TrustedDocuments.from_settings(
            settings.gateway_any_document, settings.gateway_trusted_documents
        )
        self.reads = CachedReads(
            cache if cache is not None else ResponseCache(0),
            budget=admission.budget,
            schema=self.schema._schema,  # type: ignore[attr-defined]
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Trusted documents only (gateway/trusted.py); reads through the response cache, and
        mutations evict it before they answer."""
        try:
            query = self.documents.resolve(request_data.query, request_data.extensions)
        except GatewayError as refusal:
            return self._refused(refusal, context, sub_response)
        if query is not request_data.query:
            request_data = dataclasses.replace(request_data, query=query)  # type: ignore[arg-type]
        execute = functools.partial(
            super().execute_single,
            request,
            request_adapter,
            sub_response,
            context,
            root_value,
            request_data,
        )
        return await self.reads.run(
            execute,
            request_data.query,
            request_data.operation_name,
            request_data.variables,
            context,
        )

    def _refused(
        self, refusal: GatewayError, context: Context, sub_response: Response
    ) -> ExecutionResult:
        """An answer without running anything: the refusal with its code, or without a token
        one UNAUTHENTICATED whatever was sent (docs/security.md, no oracles)."""
        try:
            context.principal  # noqa: B018
        except GatewayError as unknown:
            refusal = unknown
        # Never cached on the way (a GET): the same request may run once the hash is known.
        sub_response.headers["Cache-Control"] = "private, no-cache, must-revalidate"
        self.metrics.errors.labels("unknown", refusal.code).inc()  # it never got a type
        error = GraphQLError(str(refusal), extensions=refusal.extensions, original_error=refusal)
        return ExecutionResult(data=None, errors=[error])

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a GET naming a persisted query: it has no `query`, yet asks for data."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the console's pinned local copies, never from a CDN."""
        assert self.ide is not None  # graphql_ide is only set in development mode
        return await self.ide(request)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        request_id = request_id_of(request)
        if isinstance(response, Response):
            response.headers["X-Request-Id"] = request_id
        return Context(
            clients=self.clients,
            verifier=self.verifier,
            settings=self.settings,
            authorization=request.headers.get("authorization"),
            nats=self.nats,
            request=request,
            response=response,
            request_id=request_id,
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """application/graphql-response+json when asked for (gateway/media.py): a request
        error is a 4xx without `data`; the legacy JSON answer is unchanged."""
        if sub_response.media_type != GRAPHQL_RESPONSE or isinstance(response_data, list):
            return super().create_response(response_data, sub_response)
        status = request_error_status(response_data)
        if status is not None:
            response_data = {k: v for k, v in response_data.items() if k != "data"}  # type: ignore[assignment]
            sub_response.status_code = sub_response.status_code or status
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        return response

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """connection_init: a valid token, and a free socket of the principal's, or 4403."""
        self.sockets.admit(context)
        unset: UnsetType = UNSET
        return unset

    def decode_json(self, data: str | bytes) -> Any:
        """Not UTF-8, or nested too deep: unreadable like any malformed JSON, so the client's
        mistake is a 400 over HTTP and a 4400 close on a socket, never a traceback."""
        try:
            return json.loads(data)
        except (UnicodeDecodeError, RecursionError) as error:
            raise json.JSONDecodeError(type(error).__name__, "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        body = super().parse_json(data)
        if not isinstance(body, dict | list):  # `null`, `1`, `"x"`: no request at all
            raise HTTPException(400, "the body must be a JSON object")
        return body
