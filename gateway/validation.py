"""The checks every document passes before it runs: depth, aliases, tokens and values.

A value that does not fit its type (a literal in the document or a variable) is
BAD_USER_INPUT with a field violation naming where it was sent: `input.rateCard[0].billRate`.
So is a string with a NUL character, which no service can store (PostgreSQL text has none).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
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

from gateway.errors import BadUserInput, GatewayError

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 2_000


NUL = "\x00"
# Items of one list a variable may hold (ids to approve, entries to submit): more is a batch
# for several requests. A literal list is bounded by MAX_TOKENS already.
MAX_LIST_ITEMS = 1_000


def _nul_paths(value: object, path: list[str | int]) -> Iterator[list[str | int]]:
    """Where a literal or a variable holds a string with a NUL character."""
    if isinstance(value, StringValueNode):
        value = value.value
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, ObjectValueNode):
        for item in value.fields:
            yield from _nul_paths(item.value, [*path, item.name.value])
    elif isinstance(value, ListValueNode):
        for n, element in enumerate(value.values):
            yield from _nul_paths(element, [*path, n])
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_paths(item, [*path, str(key)])
    elif isinstance(value, list):
        for n, element in enumerate(value):
            yield from _nul_paths(element, [*path, n])


def _long_lists(value: object, path: list[str | int]) -> Iterator[list[str | int]]:
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            yield path
            return
        for n, element in enumerate(value):
            yield from _long_lists(element, [*path, n])
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _long_lists(item, [*path, str(key)])


def _reported(refusal: BadUserInput, node: ValueNode) -> GraphQLError:
    return GraphQLError(
        refusal.args[0], node, original_error=refusal, extensions=refusal.extensions
    )


def _nul_refusal(field: str) -> BadUserInput:
    description = "must not contain the NUL character (U+0000)"
    return BadUserInput(
        f"{field}: {description}", fieldViolations=[{"field": field, "description": description}]
    )


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
                self.report_error(_reported(violation(field_name(self._root, path), error), node))

            validate_input_literal(
                node, input_type, on_error, None, None, self.context.hide_suggestions
            )
            for path in _nul_paths(node, []):
                self.report_error(_reported(_nul_refusal(field_name(self._root, path)), node))
        return SKIP


class MaxDepthRule(ASTValidationRule):
    """Fields nested at most MAX_DEPTH deep, through fragments (introspection fields aside).

    strawberry's QueryDepthLimiter counts the same way but raises on documents the later rules
    refuse (an empty selection set, a spread of an unknown fragment): a client's mistake that
    became INTERNAL_SERVER_ERROR. This one leaves those to the rules that name them."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        fragments = {
            d.name.value: d
            for d in self.context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        depth = _depth(node.selection_set, fragments, frozenset())
        if depth > MAX_DEPTH:
            name = node.name.value if node.name else "anonymous"
            self.report_error(
                GraphQLError(f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}", node)
            )


def _depth(
    selections: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    visited: frozenset[str],
) -> int:
    deepest = 0
    for selection in selections.selections if selections else ():
        if isinstance(selection, FieldNode):
            if selection.selection_set and not selection.name.value.startswith("__"):
                deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, visited))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, visited))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in visited:
                fragment = fragments[name].selection_set
                deepest = max(deepest, _depth(fragment, fragments, visited | {name}))
    return deepest


# Built once: the validation cache keys its entries on the rule classes, and the aliases
# limiter builds a new class per call (per request, a cache miss every time).
RULES: tuple[type[ASTValidationRule], ...] = (
    *(NamedValuesRule if r is ValuesOfCorrectTypeRule else r for r in specified_rules),
    MaxDepthRule,
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

        def on_error(
            error: GraphQLError, path: list[str | int], name: str = name, into: list[Any] = refusals
        ) -> None:
            into.append(violation(field_name(name, path), error))

        validate_input_value(value, declared, on_error, hide_suggestions)
        refusals.extend(_nul_refusal(field_name(name, path)) for path in _nul_paths(value, []))
        refusals.extend(
            BadUserInput(
                f"{field_name(name, path)}: at most {MAX_LIST_ITEMS} items per request",
                fieldViolations=[
                    {"field": field_name(name, path), "description": "too many items"}
                ],
            )
            for path in _long_lists(value, [])
        )
    return refusals
