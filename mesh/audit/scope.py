"""Who is acting now: the audit scope of one gRPC call, one applied event or one operation.

A context variable, so it follows the work into the transactions it runs (which record it),
the events it writes (which carry it) and the gRPC calls it makes (which forward it).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from uuid import UUID

from google.protobuf.message import Message

SERVICE_PREFIX = "service:"
UNKNOWN = "unknown"  # a call with neither an actor nor a peer certificate (plaintext, tests)
MAX_VALUE = 256  # characters of an actor or request id (a JWT sub is at most 256 too)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NEST = 2  # levels of nested messages searched for engagement_id


@dataclass
class AuditScope:
    actor: str  # a JWT sub, or service:<name>
    request_id: str | None = None
    on_behalf_of: str | None = None  # event-driven work: the causing event's actor
    operation: str = ""  # the gRPC method, or the applied event's type
    targets: tuple[str, ...] = ()  # named by the request or the event
    carried: tuple[str, ...] = ()  # ids of messages the request carries whole: the last resort
    engagement_ids: tuple[str, ...] = ()
    event_id: UUID | None = None
    # What the current transaction wrote to the outbox: (aggregate id, engagement id or None).
    written: list[tuple[str, str | None]] = field(default_factory=list)

    def note_event(self, aggregate_id: str, engagement_id: str | None) -> None:
        self.written.append((aggregate_id, engagement_id))

    def row_targets(self) -> list[str]:
        """The request's (or event's) ids; else what the transaction's events are about; else
        the ids of what the request carried."""
        if self.targets:
            return list(self.targets)
        return _unique(a for a, _ in self.written) or list(self.carried)

    def row_engagements(self) -> list[str]:
        return _unique([*self.engagement_ids, *(e for _, e in self.written if e)])


_current: ContextVar[AuditScope | None] = ContextVar("weftwork_audit_scope", default=None)


def current() -> AuditScope | None:
    return _current.get()


@contextlib.contextmanager
def acting(scope: AuditScope) -> Iterator[AuditScope]:
    """Make `scope` the current one for the work inside the block."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def service_actor(service: str) -> str:
    return SERVICE_PREFIX + service


def clean(value: str | None) -> str | None:
    """A value fit to record and forward (1 to 256 characters, no control characters), else
    None. Metadata and event headers carry it percent-encoded."""
    if value is None or not 0 < len(value) <= MAX_VALUE or _CONTROL.search(value):
        return None
    return value


def request_targets(request: Message) -> tuple[str, ...]:
    """The ids a request names at its top level: id, ids, and every …_id or …_ids field."""
    return tuple(_unique(_ids(request)))


def carried_ids(request: Message) -> tuple[str, ...]:
    """The `id` of each message a request carries whole (UpsertPerson's person)."""
    found: list[str] = []
    for _, value in request.ListFields():
        if isinstance(value, Message) and "id" in value.DESCRIPTOR.fields_by_name:
            found += [i for i in [getattr(value, "id")] if isinstance(i, str)]  # noqa: B009
    return tuple(_unique(found))


def _ids(request: Message) -> list[str]:
    found: list[str] = []
    for descriptor, value in request.ListFields():
        name = descriptor.name
        if not (name in ("id", "ids") or name.endswith(("_id", "_ids"))):
            continue
        if isinstance(value, str):
            found.append(value)
        elif not isinstance(value, Message | int | float | bytes):  # repeated
            found.extend(v for v in value if isinstance(v, str))
    return found


def request_engagements(request: Message) -> tuple[str, ...]:
    """Every engagement_id in the request, its nested messages included (two levels)."""
    found: list[str] = []
    _collect_engagements(request, found, _NEST)
    return tuple(_unique(found))


def _collect_engagements(message: Message, found: list[str], depth: int) -> None:
    for descriptor, value in message.ListFields():
        if descriptor.name == "engagement_id" and isinstance(value, str):
            found.append(value)
        elif descriptor.message_type is not None and depth > 0:
            if descriptor.message_type.GetOptions().map_entry:
                continue
            for item in [value] if isinstance(value, Message) else value:
                _collect_engagements(item, found, depth - 1)


def _unique(values: Iterable[str]) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]
