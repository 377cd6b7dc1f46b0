"""What an operation may cost, known before it runs: the nodes it may return (DESIGN.md §6).

Like GitHub's node limit: a connection's `first` (its default when absent, at most 100)
multiplies everything below it; each item of a list counts one node (a list without `first`
counts a declared estimate of its length), and so does each single object with an `id` (an
engagement's customer: something a service is asked for), at the multiplier it is found
under. Values such as Money count nothing; a connection's edges, edge nodes and pageInfo are
its own nodes, not more.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from gateway.pagination import DEFAULT_FIRST, MAX_FIRST

# Lists without `first`: the most items each is expected to hold, as far as cost goes.
LIST_ESTIMATES = {
    "Engagement.timeline": 100,
    "Engagement.invoices": 20,
    "Engagement.milestones": 20,
    "Engagement.rateCard": 10,
    "Invoice.lines": 50,
    "Query.utilization": 200,
    "Mutation.runBilling": 100,
    "JournalExport.lines": 1000,
}
DEFAULT_LIST_ESTIMATE = 20


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
) -> int:
    """At least 1: every operation costs something, even `{ __typename }`."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 1
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return max(1, _Walk(schema, fragments, variables).cost(operation.selection_set, root))


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        # Cost is linear in the multiplier, so each fragment is walked once per type: a
        # document that spreads fragments into fragments costs linear time, not exponential.
        self.fragment_cost = cache(self._fragment_cost)

    def cost(self, selections: SelectionSetNode, parent: GraphQLNamedType) -> int:
        """Nodes under `selections` for one instance of `parent`."""
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment_cost(selection.name.value, parent.name)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, inner or parent)
        return total

    def _fragment_cost(self, name: str, parent_name: str) -> int:
        fragment = self.fragments.get(name)
        parent = self.schema.get_type(parent_name)
        if fragment is None or parent is None:
            return 0
        inner = self.schema.get_type(fragment.type_condition.name.value) or parent
        return self.cost(fragment.selection_set, inner)

    def _field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        if not isinstance(parent, GraphQLObjectType):
            return 0
        field = parent.fields.get(node.name.value)
        if field is None or node.selection_set is None:
            return 0  # a scalar, or __typename and friends
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType):
            return 0
        if _is_connection_part(parent.name, node.name.value):
            return self.cost(node.selection_set, named)
        if "first" in field.args:
            size = self._first(node)
        elif is_list_type(get_nullable_type(field.type)):
            size = LIST_ESTIMATES.get(f"{parent.name}.{node.name.value}", DEFAULT_LIST_ESTIMATE)
        else:
            size = 1
            if "id" not in named.fields:  # a value (Money, Budget), not a node
                return self.cost(node.selection_set, named)
        return size * (1 + self.cost(node.selection_set, named))

    def _first(self, node: FieldNode) -> int:
        value: Any = None
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
        if not isinstance(value, int) or isinstance(value, bool):
            return DEFAULT_FIRST
        return min(max(value, 0), MAX_FIRST)


def _is_connection_part(parent: str, field: str) -> bool:
    return (parent.endswith("Connection") and field in {"edges", "pageInfo"}) or (
        parent.endswith("Edge") and field == "node"
    )
