"""The checks every document passes before it runs: depth, aliases, tokens and values.

A value that does not fit its type (a literal in the document or a variable) is
BAD_USER_INPUT with a field violation naming where it was sent: `input.rateCard[0].billRate`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    Undefined,
    ValueNode,
    VariableDefinitionNode,
    is_input_type,
    is_non_null_type,
    specified_rules,
    type_from_ast,
)
from graphql.language.visitor import SKIP, VisitorAction
from graphql.utilities.validate_input_value import validate_input_literal, validate_input_value
from graphql.validation import ValuesOfCorrectTypeRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from gateway.errors import BadUserInput, GatewayError

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 2_000


def field_name(root: str, path: Collection[str | int]) -> str:
    """`input` and ["rateCard", 0, "billRate"] -> `input.rateCard[0].billRate`."""
    return root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def violation(field: str, error: GraphQLError) -> BadUserInput:
    cause = error.original_error
    description = str(cause) if isinstance(cause, GatewayError) else error.message
    return BadUserInput(
        f"{field}: {description}", fieldViolations=[{"field": field, "description": description}]
    )


class NamedValuesRule(ValuesOfCorrectTypeRule):
    """graphql-core's check of literal values, answered as BAD_USER_INPUT naming the field."""

    _root = ""

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self._root = node.name.value

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
        self._root = node.variable.name.value

    def is_valid_value_node(
        self, node: ValueNode, input_type: GraphQLInputType | None
    ) -> VisitorAction:
        if input_type:

            def on_error(error: GraphQLError, path: list[str | int]) -> None:
                refusal = violation(field_name(self._root, path), error)
                self.report_error(
                    GraphQLError(
                        refusal.args[0],
                        node,
                        original_error=refusal,
                        extensions=refusal.extensions,
                    )
                )

            validate_input_literal(
                node, input_type, on_error, None, None, self.context.hide_suggestions
            )
        return SKIP


# Built once: the validation cache keys its entries on the rule classes, and the limiters
# build new classes per call (a per-request class would make every validation a cache miss).
RULES: tuple[type[ASTValidationRule], ...] = (
    *(NamedValuesRule if r is ValuesOfCorrectTypeRule else r for r in specified_rules),
    depth_rule(MAX_DEPTH, None),
    aliases_rule(MAX_ALIASES),
)


class ValidationRules(SchemaExtension):
    def on_operation(self) -> Any:
        self.execution_context.validation_rules = RULES
        yield


def variable_refusals(
    schema: GraphQLSchema,
    definitions: Collection[VariableDefinitionNode],
    values: dict[str, Any],
    *,
    hide_suggestions: bool,
) -> list[BadUserInput]:
    """Each variable that is missing or does not fit its declared type, named with its path."""
    refusals: list[BadUserInput] = []
    for definition in definitions:
        name = definition.variable.name.value
        declared = type_from_ast(schema, definition.type)
        if declared is None or not is_input_type(declared):
            continue  # validation has refused the document already
        value = values.get(name, Undefined)
        if value is Undefined:
            if is_non_null_type(declared) and definition.default_value is None:
                refusals.append(
                    BadUserInput(
                        f"variable ${name} of type {declared} was not provided",
                        fieldViolations=[{"field": name, "description": "required"}],
                    )
                )
            continue

        def on_error(error: GraphQLError, path: list[str | int], name: str = name) -> None:
            refusals.append(violation(field_name(name, path), error))

        validate_input_value(value, declared, on_error, hide_suggestions)
    return refusals
