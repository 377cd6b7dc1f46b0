"""Execution with a fast path for plain fields (Strawberry's `execution_context_class`).

Most of a page of engagements is plain fields: an attribute read by the default resolver, with
no arguments, no resolver of ours and no field extension (`id`, `name`, `total { amount }`).
graphql-core gives each of them a resolve-info object, a path, a resolver call and a recursive
`complete_value`. Here such a field is read and coerced in place: a leaf (scalar or enum) with
no path or info at all, an object (not a list, not abstract) with only its path. Anything else
- a resolver (masking by role, loaders), arguments, lists, abstract types, middleware - and any
value that is not plainly right (a null in a non-null field, a value the scalar refuses, an
exception) takes graphql-core's own `execute_field`, so errors, their paths and null
propagation are graphql-core's. tests/unit/test_gateway_execution.py compares the two.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"  # Strawberry's back-reference on each GraphQLField
_SLOW = object()  # not plainly right: let graphql-core execute the field


class _Plan:
    """How to execute one plain field of one object type."""

    __slots__ = ("leaf", "named", "non_null", "read", "return_type")

    def __init__(
        self, read: Callable[[Any], Any], return_type: GraphQLOutputType, named: Any, leaf: bool
    ) -> None:
        self.read = read
        self.return_type = return_type
        self.non_null = isinstance(return_type, GraphQLNonNull)
        self.named = named
        self.leaf = leaf


def _plan(schema: GraphQLSchema, parent: GraphQLObjectType, name: str) -> _Plan | None:
    field_def = schema.get_field(parent, name)
    if field_def is None or field_def.args:
        return None
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False):
        return None  # a resolver of ours, an extension, or not a Strawberry field
    return_type = field_def.type
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if is_leaf_type(named):
        leaf = True
    elif is_object_type(named) and named.is_type_of is None:
        leaf = False
    else:
        return None  # lists, interfaces, unions: graphql-core's completion
    definition = (field_def.extensions or {}).get(_DEFINITION)
    if definition is not None and definition.default_resolver is getattr:
        python_name = definition.python_name

        def read(source: Any) -> Any:
            return getattr(source, python_name)

    else:

        def read(source: Any) -> Any:
            return resolve(source, None)

    return _Plan(read, return_type, named, leaf)


def _leaf(plan: _Plan, source: Any) -> Any:
    """A plain scalar or enum field's output value, or _SLOW for graphql-core to execute it."""
    try:
        value = plan.read(source)
        if value is None:
            return _SLOW if plan.non_null else None
        if value is Undefined or isinstance(value, Exception):
            return _SLOW
        coerced = plan.named.coerce_output_value(value)
    except Exception:
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with plain fields resolved synchronously and in place."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plans = _plans_of(self.schema).get(parent_type.name)
        if plans is None:
            plans = _plans_of(self.schema)[parent_type.name] = {}
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, details in grouped_field_set.items():
                node = details[0].node
                name = node.name.value
                plan = plans.get(name, _SLOW)
                if plan is _SLOW:
                    plan = plans[name] = _plan(self.schema, parent_type, name)
                result = _SLOW
                if plan is not None and not node.arguments:
                    if plan.leaf:  # the bulk of a page: inline, never awaitable
                        result = _leaf(plan, source_value)
                        if result is not _SLOW:
                            results[response_name] = result
                            continue
                    else:
                        result = self._object(
                            plan,
                            parent_type,
                            source_value,
                            path,
                            response_name,
                            details,
                            position_context,
                        )
                if result is _SLOW:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        details,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _object(
        self,
        plan: _Plan,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        response_name: str,
        details: FieldDetailsList,
        position_context: Any,
    ) -> Any:
        """A plain object field's completed value, or _SLOW for graphql-core to execute it."""
        try:
            value = plan.read(source)
        except Exception:
            return _SLOW
        if value is None:
            return _SLOW if plan.non_null else None
        if value is Undefined or isinstance(value, Exception):
            return _SLOW
        field_path = Path(path, response_name, parent_type.name)
        try:
            completed = self.collect_and_execute_subfields(
                plan.named, details, field_path, value, position_context
            )
        except Exception as error:
            self.handle_field_error(error, plan.return_type, details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._settled(completed, plan.return_type, details, field_path)
        return completed

    async def _settled(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        details: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, return_type, details, path)
            return None


# id(schema) -> (schema, {type name: {field name: plan, or None for graphql-core's way}})
_PLANS: dict[int, tuple[GraphQLSchema, dict[str, dict[str, Any]]]] = {}


def _plans_of(schema: GraphQLSchema) -> dict[str, dict[str, Any]]:
    """Each schema's plans by type and field name, made on first use of each."""
    held = _PLANS.get(id(schema))
    if held is None or held[0] is not schema:
        held = _PLANS[id(schema)] = (schema, {})
    return held[1]
