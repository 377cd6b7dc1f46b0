"""Where the response cache meets the GraphQL endpoint: read operations answered from it, their
results stored with the ids they read, and every mutation evicting what it may have changed
before it answers (read-your-writes). Subscriptions never pass here; errors are never stored.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from strawberry.types import ExecutionResult

from gateway.budget import CostBudget
from gateway.cache import CALLED, COLLECTION, UNANNOUNCED, Key, ResponseCache
from gateway.context import Context
from gateway.cost import operation_cost
from gateway.errors import GatewayError

MAX_TAGS = 20_000  # an answer reading more ids than this is not worth tracking: not stored
_CONNECTION_KEYS = ("edges", "nodes")


@functools.lru_cache(maxsize=512)
def operation_of(
    document: str, operation_name: str | None
) -> tuple[DocumentNode, OperationDefinitionNode] | None:
    """The parsed document and its operation, or None for a bad document."""
    try:
        parsed = parse(document)
        operation = get_operation_ast(parsed, operation_name)
    except (GraphQLError, RecursionError):
        return None
    return (parsed, operation) if operation is not None else None


def operation_kind(document: str, operation_name: str | None) -> OperationType | None:
    """The operation's type (query, mutation, subscription), or None for a bad document."""
    found = operation_of(document, operation_name)
    return found[1].operation if found is not None else None


@functools.lru_cache(maxsize=512)
def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def cache_key(
    document: str, operation_name: str | None, variables: dict[str, Any] | None, context: Context
) -> Key | None:
    """What was asked and what the caller may see: roles decide which fields show (cost and
    margin), entities which objects; None when the caller is not known (the gate answers)."""
    try:
        principal = context.principal
    except GatewayError:
        return None
    entities = "*" if principal.entities is None else ",".join(sorted(principal.entities))
    return (
        document_hash(document),
        operation_name or "",
        json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=str),
        ",".join(sorted(principal.roles)),
        entities,
    )


def _ids(value: Any, key: str = "") -> Iterator[str]:
    """Every id in a result or in variables: values of `id`, `…Id` and `…Ids` fields, and every
    string of the variables (walked with key "")."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _ids(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _ids(item, key)
    elif isinstance(value, str) and (not key or key == "id" or key.endswith(("Id", "Ids"))):
        yield value


def result_tags(data: dict[str, Any], variables: dict[str, Any] | None) -> set[str]:
    """The ids an answer depends on, COLLECTION when a root field is a list or a page."""
    tags = set(_ids(data))
    tags.update(_ids(variables or {}))
    for value in data.values():  # a root list or page: any new object may join it
        if isinstance(value, list) or (
            isinstance(value, dict) and any(k in value for k in _CONNECTION_KEYS)
        ):
            tags.add(COLLECTION)
    return tags


Execute = Callable[[], Awaitable[ExecutionResult]]


class CachedReads:
    """`budget` and `schema`: an answer from the cache is charged to the caller's budget like
    the operation it stands for (its cost is worked out when it is stored); over the budget,
    the operation goes to the gate, which refuses it (429)."""

    def __init__(
        self,
        cache: ResponseCache,
        budget: CostBudget | None = None,
        schema: GraphQLSchema | None = None,
    ) -> None:
        self.cache = cache
        self.budget = budget
        self.schema = schema

    async def run(
        self,
        execute: Execute,
        document: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> ExecutionResult:
        if self.cache.max_bytes <= 0 or not isinstance(document, str):
            return await execute()
        kind = operation_kind(document, operation_name)
        if kind is OperationType.MUTATION:
            return await self._mutate(execute, variables, context)
        if kind is not OperationType.QUERY:
            return await execute()
        key = cache_key(document, operation_name, variables, context)
        if key is None:
            return await execute()
        cached = self.cache.get(key)
        if isinstance(cached, tuple):  # kept serialized: the bound is on what memory holds
            body, cost = cached
            if self.budget is None or not self.budget.take(context.principal.subject, cost):
                return ExecutionResult(data=json.loads(body), errors=None)
            return await execute()  # over the budget: the gate answers
        mark = self.cache.begin()
        called: set[str] = set()
        token = CALLED.set(called)
        try:
            result = await execute()
        finally:
            CALLED.reset(token)
        if result.errors or not isinstance(result.data, dict) or not self.cache.enabled:
            return result
        tags = result_tags(result.data, variables) | _loaded(context)
        # Not stored: an answer that depends on no id (a status, a count: no event would evict
        # it), or read state no event announces, or too many ids to be worth tracking.
        if not tags or len(tags) > MAX_TAGS or any(m.startswith(UNANNOUNCED) for m in called):
            return result
        body = json.dumps(result.data, separators=(",", ":"), default=str).encode()
        # An answer naming the caller themself (the viewer: their subject as a whole value) is
        # theirs alone: never shared with another caller of the same roles and entities.
        if json.dumps(context.principal.subject).encode() not in body:
            self.cache.put(
                key, (body, self._cost(document, operation_name, variables)), len(body), tags, mark
            )
        return result

    def _cost(self, document: str, operation_name: str | None, variables: Any) -> int:
        found = operation_of(document, operation_name)
        if self.schema is None or found is None:
            return 0
        return operation_cost(self.schema, found[0], found[1], variables or {})

    async def _mutate(
        self, execute: Execute, variables: dict[str, Any] | None, context: Context
    ) -> ExecutionResult:
        """Evict before answering, whatever the outcome (a failed mutation may have written
        part): every entry tagged with an id it named, read or returned; no id at all: all."""
        try:
            result = await execute()
        except BaseException:
            self.cache.flush("mutation")
            raise
        tags = set(_ids(variables or {})) | _loaded(context)
        if isinstance(result.data, dict):
            tags |= set(_ids(result.data))
        if tags:
            self.cache.evict(tags, "mutation")
        else:
            self.cache.flush("mutation")
        return result


def _loaded(context: Context) -> set[str]:
    """The ids read through the request's loaders, if it made any."""
    loaders = context.__dict__.get("loaders")  # a cached_property, not created for this
    return loaders.read if loaders is not None else set()
