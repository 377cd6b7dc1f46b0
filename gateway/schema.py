"""The public GraphQL contract (DESIGN.md §4), composed from one module per domain."""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from gateway.audit.queries import AuditQueries
from gateway.audit.scope import AuditScopes
from gateway.billing.mutations import BillingMutations
from gateway.billing.queries import BillingQueries
from gateway.connect.mutations import ConnectMutations
from gateway.connect.queries import ConnectQueries
from gateway.connect.webhooks import WebhookMutations, WebhookQueries
from gateway.customers.mutations import CustomerMutations
from gateway.customers.queries import CustomerQueries
from gateway.engagements.amendments import AmendmentMutations
from gateway.engagements.approvals import ApprovalMutations
from gateway.engagements.corrections import CorrectionMutations
from gateway.engagements.expense_review import ExpenseReviewMutations
from gateway.engagements.mutations import EngagementMutations
from gateway.engagements.purchase_orders import PurchaseOrderMutations
from gateway.engagements.queries import EngagementQueries
from gateway.engagements.subscriptions import EngagementSubscriptions
from gateway.engagements.templates import TemplateMutations, TemplateQueries
from gateway.execution import FastExecutionContext
from gateway.gate import Admission, OperationGate
from gateway.masking import ClientErrors, shown
from gateway.metrics import GraphQLMetrics
from gateway.numbers import DECIMAL
from gateway.operations.dead_letters import DeadLetterMutations, DeadLetterQueries
from gateway.operations.queries import OperationsQueries
from gateway.operations.viewer import ViewerQueries
from gateway.revenue.journal import JournalQueries
from gateway.revenue.mutations import RevenueMutations
from gateway.revenue.queries import RevenueQueries
from gateway.validation import MAX_TOKENS, ValidationRules

VALIDATION_CACHE_SIZE = 256  # distinct documents parsed and validated once each

Query = merge_types(
    "Query",
    (
        EngagementQueries,
        TemplateQueries,
        CustomerQueries,
        BillingQueries,
        RevenueQueries,
        JournalQueries,
        OperationsQueries,
        DeadLetterQueries,
        ViewerQueries,
        ConnectQueries,
        WebhookQueries,
        AuditQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        EngagementMutations,
        ApprovalMutations,
        AmendmentMutations,
        TemplateMutations,
        ExpenseReviewMutations,
        CorrectionMutations,
        PurchaseOrderMutations,
        BillingMutations,
        RevenueMutations,
        CustomerMutations,
        DeadLetterMutations,
        ConnectMutations,
        WebhookMutations,
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
    hide_suggestions = True

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [
                shown(e, hide_suggestions=self.hide_suggestions) for e in result.errors
            ]
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Nothing here: gateway.masking logs each bug once, and a user's mistake not as one."""


Subscription = merge_types("Subscription", (EngagementSubscriptions,))


def build_schema(
    *, dev_mode: bool, admission: Admission, metrics: GraphQLMetrics | None = None
) -> strawberry.Schema:
    """Abuse limits always; introspection (and GraphiQL, in the app) only in development mode,
    and field suggestions ("Did you mean …") only with introspection."""
    # Factories: strawberry makes fresh extension instances per operation.
    extensions: list[Callable[[], SchemaExtension]] = [
        ValidationRules,  # first: the others add to the rules it sets
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Parse and validate each distinct document once (module-level caches): 3-4x on small
        # queries.
        lambda: ParserCache(maxsize=VALIDATION_CACHE_SIZE),
        lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
        lambda: ClientErrors(hide_suggestions=not dev_mode),
        OperationSpans,
        AuditScopes,  # the caller and request id every gRPC call of the operation carries
        lambda: OperationGate(admission),
    ]
    if not dev_mode:
        extensions.append(DisableIntrospection)
    if metrics is not None:  # outermost: times the whole operation, sees the masked errors
        extensions.insert(0, metrics.extension)
    schema = WeftworkSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FastExecutionContext,
        config=StrawberryConfig(
            disable_field_suggestions=not dev_mode, scalar_map={decimal.Decimal: DECIMAL}
        ),
    )
    schema.hide_suggestions = not dev_mode
    return schema
