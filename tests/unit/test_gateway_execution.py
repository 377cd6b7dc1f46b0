"""The fast path (gateway/execution.py) answers exactly as graphql-core's own execution: the same
data and the same errors (message, path, locations), for the gateway's schema over canned
service answers and for a small schema made of the cases a plain field can go wrong in."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bench.gateway_bench import PAGE, VIEW
from bench.gateway_cpu import CannedClients, CannedContext, schema
from gateway.auth import Principal
from gateway.execution import FastExecutionContext

SALES = Principal(subject="s", roles=frozenset({"sales"}), entities=frozenset({"DE01"}))
FINANCE = Principal(subject="f", roles=frozenset({"finance"}), entities=None)


def answer(result: Any) -> tuple[Any, list[dict[str, Any]]]:
    return result.data, [e.formatted for e in result.errors or ()]


async def both(built: Any, document: str, request: Callable[[], dict[str, Any]]) -> tuple[Any, Any]:
    """(default execution's answer, the fast path's answer) to the same request."""
    answers = []
    for kind in (StrawberryGraphQLCoreExecutionContext, FastExecutionContext):
        built.execution_context_class = kind
        answers.append(answer(await built.execute(document, **request())))
    return answers[0], answers[1]


GATEWAY_DOCUMENTS = [
    (PAGE, {}),
    (VIEW, {"id": "00000000-0000-0000-0000-000000000003"}),
    (VIEW, {"id": "missing"}),
    (
        """query($id: ID!) { engagement(id: $id) {
             a: id b: id name ... on Engagement { code budget { hours burnPercent } }
             rateCard { role billRate costRate } milestones { id }
             invoices { status lines { kind quantity unitPrice { amount } } document: documentUrl
                        customer { name } engagement { id code } }
             revenue { cost { amount currency } margin { amount } marginPercent percentComplete }
             endDate purchaseOrderNumber opportunity { system externalId } __typename } }""",
        {"id": "00000000-0000-0000-0000-000000000007"},
    ),
    (
        """query { engagements(first: 3) { edges { cursor node { id status customer { id } }
             ...more } } }
           fragment more on EngagementConnection { pageInfo { hasNextPage endCursor } }""",
        {},
    ),
    ("query { engagements(first: 0) { edges { node { id } } } }", {}),
]


@pytest.mark.parametrize("principal", [Principal("a", frozenset({"admin"}), None), SALES, FINANCE])
@pytest.mark.parametrize(("document", "variables"), GATEWAY_DOCUMENTS)
async def test_the_gateway_schema_answers_the_same(
    principal: Principal, document: str, variables: dict[str, Any]
) -> None:
    clients = CannedClients()

    def request() -> dict[str, Any]:
        return {
            "variable_values": variables,
            "context_value": CannedContext(clients, principal),
        }

    default, fast = await both(schema(), document, request)
    assert fast == default
    assert default[0] is not None or default[1]  # each document answers something


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Leaf:
    name: str
    count: int | None
    colour: Colour | None


@strawberry.type
class Node:
    id: strawberry.ID
    name: str  # None on some: a non-null plain field that must fail
    count: int  # "x" on some: a value the scalar refuses
    maybe: int | None
    colour: Colour
    leaf: Leaf | None
    required_leaf: Leaf
    leaves: list[Leaf | None]
    tags: list[str]

    @strawberry.field
    def secret(self, info: strawberry.Info) -> str | None:
        return "s" if info.context["sees"] else None

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("broken resolver")

    @strawberry.field
    async def later(self) -> Leaf:
        return Leaf(name="later", count=None, colour=None)


def node(n: int, **changes: Any) -> Node:
    values: dict[str, Any] = {
        "id": strawberry.ID(str(n)),
        "name": f"n{n}",
        "count": n,
        "maybe": None,
        "colour": Colour.RED,
        "leaf": Leaf(name="l", count=1, colour=Colour.RED),
        "required_leaf": Leaf(name="r", count=None, colour=None),
        "leaves": [Leaf(name="a", count=None, colour=None), None],
        "tags": ["x", "y"],
    }
    values.update(changes)
    return Node(**values)


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self) -> list[Node | None]:
        return [
            node(1),
            node(2, name=None),
            node(3, count="x"),
            node(4, leaf=None, required_leaf=Leaf(name=None, count=2, colour=None)),  # type: ignore[arg-type]
            node(5, colour="not a colour"),
        ]

    @strawberry.field
    def one(self) -> Node:
        return node(9, leaf=Leaf(name=None, count=1, colour=None))  # type: ignore[arg-type]


SMALL_DOCUMENTS = [
    "{ nodes { id name count maybe colour } }",
    "{ nodes { id secret broken } }",
    "{ nodes { id leaf { name count colour } requiredLeaf { name } } }",
    "{ nodes { x: id y: id leaves { name } tags later { name } } }",
    "{ nodes { ... on Node { id } ...f } } fragment f on Node { leaf { ... { name } } }",
    "{ one { id leaf { name } } }",
    "{ one { id requiredLeaf { count } } nodes { __typename id @skip(if: true) } }",
    "{ nodes { name @include(if: false) count @include(if: true) } }",
    "{ one { leaf { count } leaf { colour } } }",
]


@pytest.mark.parametrize("sees", [True, False])
@pytest.mark.parametrize("document", SMALL_DOCUMENTS)
async def test_plain_fields_fail_and_null_exactly_as_graphql_core(
    sees: bool, document: str
) -> None:
    built = strawberry.Schema(query=Query)
    default, fast = await both(built, document, lambda: {"context_value": {"sees": sees}})
    assert fast == default


async def test_the_cases_above_do_fail() -> None:
    """The comparison means something: the small schema's documents produce errors and nulls."""
    built = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    data, errors = answer(await built.execute(SMALL_DOCUMENTS[0]))
    assert data is not None and data["nodes"][1] is None and data["nodes"][0]["name"] == "n1"
    assert {tuple(e["path"]) for e in errors} >= {("nodes", 1, "name"), ("nodes", 2, "count")}
