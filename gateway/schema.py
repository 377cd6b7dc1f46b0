"""The public GraphQL contract (DESIGN.md §4), composed from one module per domain."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import strawberry
from graphql import ASTValidationRule, GraphQLError
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.billing.mutations import BillingMutations
from gateway.billing.queries import BillingQueries
from gateway.customers.mutations import CustomerMutations
from gateway.customers.queries import CustomerQueries
from gateway.engagements.approvals import ApprovalMutations
from gateway.engagements.corrections import CorrectionMutations
from gateway.engagements.expense_review import ExpenseReviewMutations
from gateway.engagements.mutations import EngagementMutations
from gateway.engagements.queries import EngagementQueries
from gateway.engagements.subscriptions import EngagementSubscriptions
from gateway.engagements.templates import TemplateMutations, TemplateQueries
from gateway.errors import GatewayError, MaskUnexpectedErrors
from gateway.metrics import GraphQLMetrics
from gateway.operations.dead_letters import DeadLetterMutations, DeadLetterQueries
from gateway.operations.queries import OperationsQueries
from gateway.operations.viewer import ViewerQueries
from gateway.revenue.mutations import RevenueMutations
from gateway.revenue.queries import RevenueQueries

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 2_000
VALIDATION_CACHE_SIZE = 256  # distinct documents parsed and validated once each
# The rule classes are built once: ValidationCache keys its entries on them, and
# QueryDepthLimiter/MaxAliasesLimiter build new classes per instance, i.e. per request, which
# would make every validation a cache miss.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    depth_rule(MAX_DEPTH, None),
    aliases_rule(MAX_ALIASES),
]

Query = merge_types(
    "Query",
    (
        EngagementQueries,
        TemplateQueries,
        CustomerQueries,
        BillingQueries,
        RevenueQueries,
        OperationsQueries,
        DeadLetterQueries,
        ViewerQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        EngagementMutations,
        ApprovalMutations,
        TemplateMutations,
        ExpenseReviewMutations,
        CorrectionMutations,
        BillingMutations,
        RevenueMutations,
        CustomerMutations,
        DeadLetterMutations,
    ),
)


class OperationSpans(SchemaExtension):
    """One span per operation, current while it runs: the root of the trace that gRPC, the
    outbox and consumers continue. Fields get no spans and no per-field hook at all: a `resolve`
    hook would wrap every field's resolver, which costs more than most resolvers do."""

    def on_operation(self) -> Iterator[None]:
        span = _tracer.start_span("GraphQL Operation", kind=SpanKind.SERVER)
        span.set_attribute("component", "graphql")
        with trace.use_span(span, end_on_exit=True):
            yield
            context = self.execution_context
            span.update_name(_span_name(context))
            if context.operation_name:
                span.set_attribute("graphql.operation.name", context.operation_name)


def _span_name(context: ExecutionContext) -> str:
    """The span's name: GraphQL Query View, GraphQL Mutation; GraphQL Operation if unparseable."""
    try:
        kind = context.operation_type.value.capitalize()
    except RuntimeError:  # no document, or no operation of that name
        kind = "Operation"
    return " ".join(filter(None, ("GraphQL", kind, context.operation_name)))


_tracer = trace.get_tracer("weftwork.gateway")


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
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Parse and validate each distinct document once (module-level caches): 3-4x on small
        # queries.
        lambda: ParserCache(maxsize=VALIDATION_CACHE_SIZE),
        lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
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
