"""Cost before execution (node counts like GitHub's), the per-principal budget, bounded numbers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from gateway.budget import CostBudget
from gateway.cost import operation_cost
from gateway.errors import BadUserInput
from gateway.gate import Admission
from gateway.numbers import DECIMAL, money_input, quantity
from gateway.schema import build_schema
from gateway.validation import variable_refusals

SCHEMA = build_schema(
    dev_mode=False,
    admission=Admission(
        max_cost=50_000,
        budget=CostBudget(10**6),
        hide_suggestions=True,
        socket_turns=asyncio.Semaphore(1),
    ),
)._schema


def parse_decimal(value: object) -> Decimal:
    assert DECIMAL.parse_value is not None
    parsed: Decimal = DECIMAL.parse_value(value)
    return parsed


def cost(query: str, **variables: Any) -> int:
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation_cost(SCHEMA, document, operation, variables)


def test_first_multiplies_down_the_tree() -> None:
    assert (
        cost("{ engagements(first: 10) { edges { node { id } } pageInfo { hasNextPage } } }") == 10
    )
    nested = (
        "{ engagements(first: 10) { edges { node {"
        " timeEntries(first: 5) { edges { node { id } } } } } } }"
    )
    assert cost(nested) == 10 * (1 + 5)
    assert cost("{ engagements { edges { node { id } } } }") == 20  # the default page
    assert cost("query($n: Int) { engagements(first: $n) { edges { cursor } } }", n=3) == 3


def test_lists_without_first_count_their_estimate_and_objects_count_one() -> None:
    assert cost('{ engagement(id: "x") { timeline { type } } }') == 1 + 100
    assert cost('{ engagement(id: "x") { customer { name } invoices { id } } }') == 1 + 1 + 20
    assert cost("{ __typename }") == 1
    values = (
        '{ engagement(id: "x") { contractValue { amount } budget { hours } setup { billing } } }'
    )
    assert cost(values) == 1  # Money, Budget and Setup are values, not nodes


def test_the_reported_attack_costs_millions() -> None:
    one = (
        "engagements(first:100){ edges { node { timeline { type } timeEntries(first:100){"
        " edges { node { engagement { timeline { type } } } } } } } }"
    )
    query = "{ " + " ".join(f"a{i}: {one}" for i in range(30)) + " }"
    assert cost(query) == 30 * 100 * (1 + 100 + 100 * (1 + 1 * (1 + 100)))


def test_fragments_cost_what_they_select_and_nesting_them_stays_cheap_to_count() -> None:
    spread = (
        "query { engagements(first: 10) { edges { node { ...F } } } }"
        " fragment F on Engagement { invoices { id } }"
    )
    assert cost(spread) == 10 * (1 + 20)
    # Each fragment spreads the next one twice: 2^25 paths, counted in linear time.
    levels = 25
    fragments = " ".join(
        f"fragment F{i} on Customer {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = (
        f'{{ customer(id: "x") {{ ...F0 }} }} {fragments} fragment F{levels} on Customer {{ name }}'
    )
    assert cost(document) == 1


def test_the_budget_refills_continuously_and_says_when_to_come_back() -> None:
    now = [0.0]
    budget = CostBudget(600, clock=lambda: now[0])  # 10 points a second
    assert budget.take("ann", 600) == 0
    assert budget.take("ann", 50) == 5
    assert budget.take("bob", 100) == 0  # principals do not share a bucket
    now[0] += 5
    assert budget.take("ann", 50) == 0
    assert budget.take("ann", 1) == 1


def test_forgotten_principals_start_again_full() -> None:
    budget = CostBudget(60, max_principals=2, clock=lambda: 0.0)
    for name in ("a", "b", "c"):
        assert budget.take(name, 60) == 0
    assert budget.take("a", 60) == 0  # evicted, so full again
    assert budget.take("c", 1) == 1


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "sNaN",
        "-Infinity",
        "Infinity",
        "1e400",
        "1E+999999999",
        "0.0000001",
        "1" * 65,
        "",
        "x",
    ],
)
def test_the_decimal_scalar_refuses_what_no_field_accepts(text: str) -> None:
    with pytest.raises(BadUserInput):
        parse_decimal(text)


def test_the_decimal_scalar_takes_strings_and_json_numbers() -> None:
    parse_value = parse_decimal
    assert parse_value("1234.50") == Decimal("1234.50")
    assert parse_value(12.5) == Decimal("12.5")
    assert parse_value(7) == Decimal(7)
    assert parse_value("1E+2") == Decimal(100)
    for wrong in (True, None, [1], {"a": 1}, float("nan"), float("inf")):
        with pytest.raises(BadUserInput):
            parse_value(wrong)


def test_a_variable_list_longer_than_a_thousand_items_is_refused_naming_it() -> None:
    schema = SCHEMA
    document = parse("mutation($ids: [ID!]!) { approveTime(ids: $ids) { id } }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    definitions = operation.variable_definitions or ()
    assert (
        variable_refusals(schema, definitions, {"ids": ["x"] * 1000}, hide_suggestions=True) == []
    )
    [refusal] = variable_refusals(schema, definitions, {"ids": ["x"] * 1001}, hide_suggestions=True)
    assert refusal.extensions["fieldViolations"] == [
        {"field": "ids", "description": "too many items"}
    ]


def test_each_field_applies_its_own_bound_and_names_itself() -> None:
    with pytest.raises(BadUserInput) as refused:
        money_input(Decimal("10.001"), "USD", "amount")
    assert refused.value.extensions["fieldViolations"][0]["field"] == "amount"
    assert money_input(Decimal("10.001"), "KWD", "amount").units == 10
    with pytest.raises(BadUserInput, match=r"entries\[0\].hours"):
        quantity(Decimal("1000000000"), "entries[0].hours")
    assert quantity(Decimal("7.5"), "hours") == "7.5"
