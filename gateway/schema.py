"""The public GraphQL contract (DESIGN.md §4), composed from one module per domain."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLResolveInfo
from opentelemetry import trace
from strawberry.extensions import (
    DisableIntrospection,
    LifecycleStep,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.billing.mutations import BillingMutations
from gateway.billing.queries import BillingQueries
from gateway.customers.mutations import CustomerMutations
from gateway.customers.queries import CustomerQueries
from gateway.engagements.mutations import EngagementMutations
from gateway.engagements.queries import EngagementQueries
from gateway.engagements.subscriptions import EngagementSubscriptions
from gateway.errors import GatewayError, MaskUnexpectedErrors
from gateway.metrics import GraphQLMetrics
from gateway.operations.queries import OperationsQueries
from gateway.revenue.mutations import RevenueMutations
from gateway.revenue.queries import RevenueQueries

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 2_000

Query = merge_types(
    "Query",
    (EngagementQueries, CustomerQueries, BillingQueries, RevenueQueries, OperationsQueries),
)
Mutation = merge_types(
    "Mutation", (EngagementMutations, BillingMutations, RevenueMutations, CustomerMutations)
)


class OperationSpans(OpenTelemetryExtension):
    """One span per operation: the root of the trace that gRPC, the outbox and consumers
    continue. Per-field spans would cost more than most resolvers, so fields get none; the
    root fields run inside the operation's span so their gRPC calls join its trace."""

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if info.path.prev is not None:
            return _next(root, info, *args, **kwargs)
        return self._in_operation_span(_next, root, info, *args, **kwargs)

    async def _in_operation_span(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        with trace.use_span(self._span_holder[LifecycleStep.OPERATION], end_on_exit=False):
            result = _next(root, info, *args, **kwargs)
            return await result if inspect.isawaitable(result) else result


class WeftworkSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what is a bug: a user's mistake is answered, not logged as an error."""
        bugs = [
            e for e in errors if e.original_error and not isinstance(e.original_error, GatewayError)
        ]
        if bugs:
            super().process_errors(bugs, execution_context)


Subscription = merge_types("Subscription", (EngagementSubscriptions,))


def build_schema(*, dev_mode: bool, metrics: GraphQLMetrics | None = None) -> strawberry.Schema:
    """Abuse limits always; introspection (and GraphiQL, in the app) only in development mode."""
    # Factories: strawberry makes fresh extension instances per operation.
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Parse and validate each distinct document once (module-level caches): 3-4x on small
        # queries.
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        MaskUnexpectedErrors,
        OperationSpans,
    ]
    if not dev_mode:
        extensions.append(DisableIntrospection)
    if metrics is not None:  # outermost: times the whole operation, sees the masked errors
        extensions.insert(0, metrics.extension)
    return WeftworkSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
