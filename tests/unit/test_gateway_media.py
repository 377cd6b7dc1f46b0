"""Which media type the gateway answers with, and which results are request errors."""

from __future__ import annotations

import pytest

from gateway.media import GRAPHQL_RESPONSE, JSON, request_error_status, response_media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", JSON),
        (f"{GRAPHQL_RESPONSE};q=0", JSON),
        (f"{GRAPHQL_RESPONSE};q=nonsense", JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE),  # case-insensitive
    ],
)
def test_the_newer_type_only_when_the_client_ranks_it_first(
    accept: str | None, expected: str
) -> None:
    assert response_media_type(accept) == expected


def test_a_result_without_data_or_paths_is_a_request_error_with_its_status() -> None:
    parse = {"data": None, "errors": [{"message": "Syntax Error", "locations": []}]}
    assert request_error_status(parse) == 400
    unauthenticated = {"code": "UNAUTHENTICATED"}
    refused = {"data": None, "errors": [{"message": "no", "extensions": unauthenticated}]}
    assert request_error_status(refused) == 401
    spent = {"data": None, "errors": [{"message": "wait", "extensions": {"code": "RATE_LIMITED"}}]}
    assert request_error_status(spent) == 429


def test_an_operation_that_ran_is_not_a_request_error() -> None:
    assert request_error_status({"data": {"a": 1}}) is None
    field_failed = {"data": None, "errors": [{"message": "x", "path": ["engagement"]}]}
    assert request_error_status(field_failed) is None
    assert request_error_status({"data": {"a": None}, "errors": [{"message": "x"}]}) is None
