"""Before an operation runs: its variables fit, its caller is known, its cost is allowed.

In that order, so that a malformed request is BAD_USER_INPUT even without a token, nothing is
looked up for a caller who is not authenticated (one UNAUTHENTICATED for the whole operation,
whatever it asks for), and no service is called for an operation over the cost ceiling or the
caller's budget. The cost needs the variables (`first: $n`), so it is checked here rather than
as a validation rule, whose results are cached per document.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from graphql import ExecutionResult, GraphQLError, get_operation_ast
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from gateway.budget import CostBudget
from gateway.cost import operation_cost
from gateway.errors import BadUserInput, CostLimitExceeded, GatewayError, RateLimited
from gateway.validation import variable_refusals


@dataclass(frozen=True)
class Admission:
    max_cost: int
    budget: CostBudget
    hide_suggestions: bool
    # Operations over WebSockets run a few at once (HTTP has its own turns, in limits.py); a
    # subscription holds a turn only while it starts.
    socket_turns: asyncio.Semaphore

    def refusals(self, context: ExecutionContext) -> list[GatewayError]:
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document else None
        if document is None or operation is None:
            return []  # nothing to run; graphql-core answers that itself
        if context.operation_type is OperationType.SUBSCRIPTION and not _over_socket(context):
            return [
                BadUserInput(
                    "subscriptions are served over the graphql-transport-ws WebSocket at /graphql"
                )
            ]
        schema = context.schema._schema
        variables = context.variables or {}
        refused = variable_refusals(
            schema,
            operation.variable_definitions or (),
            variables,
            hide_suggestions=self.hide_suggestions,
        )
        if refused:
            return list(refused)
        principal = context.context.principal  # UNAUTHENTICATED before anything is looked up
        cost = operation_cost(schema, document, operation, variables)
        if cost > self.max_cost:
            return [
                CostLimitExceeded(
                    f"this operation may return {cost} nodes; one request may return at most "
                    f"{self.max_cost} (ask for fewer with `first`, or split it)",
                    cost=cost,
                    limit=self.max_cost,
                )
            ]
        wait = self.budget.take(principal.subject, cost)
        if wait:
            response = getattr(context.context, "response", None)
            if isinstance(response, Response):
                response.status_code = 429
                response.headers["Retry-After"] = str(wait)
            return [
                RateLimited(
                    f"your budget of cost points is spent for now; retry in {wait} s",
                    cost=cost,
                    retryAfterSeconds=wait,
                )
            ]
        return []


class OperationGate(SchemaExtension):
    def __init__(self, admission: Admission) -> None:
        super().__init__()
        self.admission = admission

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        try:
            refused = self.admission.refusals(context)
        except GatewayError as refusal:
            refused = [refusal]
        if refused:
            if context.operation_type is OperationType.SUBSCRIPTION:
                raise refused[0]  # a stream has no result to set: strawberry answers the error
            context.result = ExecutionResult(
                data=None,
                errors=[GraphQLError(r.args[0], original_error=r) for r in refused],
            )
        if _over_socket(context):
            async with self.admission.socket_turns:
                yield
        else:
            yield


def _over_socket(context: ExecutionContext) -> bool:
    return isinstance(getattr(context.context, "request", None), WebSocket)
