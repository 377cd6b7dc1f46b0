"""What an operation asks for below a field, and a loader's answer when it is already there.

A list resolver (a page of engagements) reads the selection under its items once and starts
the loads of every child they ask for (customers, invoices, revenue) in one batch each; the
children's resolvers then find their answer in the loader and return it synchronously
(`ready`), instead of one coroutine, one future and one event-loop turn per field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable, Iterable
from typing import Any, Final

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.dataloader import DataLoader

from gateway.context import Info

MISSING: Final = object()  # the loader has no settled answer for the key (yet)


def requested(info: Info, *path: str) -> frozenset[str]:
    """The names of the fields selected at `path` below the current field (by field name, not
    alias), through fragments. `@skip`/`@include` are not evaluated: a child named under a
    skipped field is loaded for nothing, never missed."""
    raw = info._raw_info
    found: set[str] = set()
    for node in raw.field_nodes:
        if node.selection_set is not None:
            _collect(node.selection_set, raw.fragments, path, found, set())
    return frozenset(found)


def _collect(
    selections: SelectionSetNode,
    fragments: dict[str, Any],
    path: tuple[str, ...],
    found: set[str],
    seen: set[str],
) -> None:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if not path:
                found.add(selection.name.value)
            elif selection.name.value == path[0] and selection.selection_set is not None:
                _collect(selection.selection_set, fragments, path[1:], found, seen)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set, fragments, path, found, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                _collect(
                    fragment.selection_set, fragments, path, found, seen | {fragment.name.value}
                )


def ready(loader: DataLoader[Any, Any], key: Hashable) -> Any:
    """The loader's settled answer for `key` (raising its error, as awaiting it would), or
    MISSING when it has none yet."""
    future = loader.cache_map.get(key)
    if future is None or not future.done():
        return MISSING
    return future.result()


async def prefetch(loads: Iterable[Awaitable[Any]]) -> None:
    """Wait for the batches to settle. A failed batch is not raised here: each field that
    reads it raises the error at its own path, as without the prefetch."""
    await asyncio.gather(*loads, return_exceptions=True)
