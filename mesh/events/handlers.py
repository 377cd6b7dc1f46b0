"""The typed table of event handlers a service registers: subject → (message class, handler)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
from google.protobuf.message import DecodeError, Message

from mesh.events.cloudevents import EventAttributes
from mesh.events.streams import subject_matches

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Event(Generic[M]):
    """One received event: its CloudEvents attributes and its decoded message."""

    id: UUID
    type: str  # the subject, e.g. weftwork.project.time_entry.approved.v1
    source: str  # /weftwork/<service>
    aggregate_id: str  # ce-subject
    time: datetime
    aggregate_version: int
    traceparent: str | None
    message: M
    # Its place in the stream it arrived on (0 when not from a stream: a dead letter's replay,
    # a test); a consumer that orders its own effects across redeliveries needs it.
    stream_seq: int = 0


EventHandler = Callable[[asyncpg.Connection, Event[M]], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """One message of a batch as it arrived, before anything of the batch is applied."""

    subject: str
    headers: Mapping[str, str]
    payload: bytes


# Runs first in each batch's transaction, e.g. to lock what the batch will touch in one fixed
# order, so that two consumers applying overlapping batches cannot deadlock each other.
BatchHook = Callable[[asyncpg.Connection, Sequence[Delivery]], Awaitable[None]]


class PoisonMessage(Exception):
    """No retry can fix this message: unreadable headers, undecodable payload, or no handler."""


class ForeignSource(PoisonMessage):
    """The event claims a ce-source other than the owner of the stream it arrived on."""


@dataclass(frozen=True)
class Registration:
    subject: str
    message_type: type[Message]
    handler: Callable[[asyncpg.Connection, Event[Any]], Awaitable[None]]

    def decode(
        self, attributes: EventAttributes, payload: bytes, stream_seq: int = 0
    ) -> Event[Any]:
        message = self.message_type()
        try:
            message.ParseFromString(payload)
        except DecodeError as exc:
            raise PoisonMessage(
                f"payload is not a {self.message_type.DESCRIPTOR.full_name}: {exc}"
            ) from exc
        return Event(
            id=attributes.id,
            type=attributes.type,
            source=attributes.source,
            aggregate_id=attributes.aggregate_id,
            time=attributes.time,
            aggregate_version=attributes.aggregate_version,
            traceparent=attributes.traceparent,
            message=message,
            stream_seq=stream_seq,
        )


class EventHandlers:
    """Filled once at start-up (the table at the bottom of a service's handlers.py), then read."""

    def __init__(self, *, before_batch: BatchHook | None = None) -> None:
        self._by_subject: dict[str, Registration] = {}
        self._before_batch = before_batch

    def register(self, subject: str, message_type: type[M], handler: EventHandler[M]) -> None:
        if any(token in ("*", ">") for token in subject.split(".")):
            raise ValueError(f"{subject}: register concrete subjects, not wildcards")
        if subject in self._by_subject:
            raise ValueError(f"{subject} already has a handler")
        self._by_subject[subject] = Registration(subject, message_type, handler)

    async def prepare_batch(self, conn: asyncpg.Connection, batch: Sequence[Delivery]) -> None:
        """Call at the start of a batch's transaction, before any of its messages is applied."""
        if self._before_batch is not None and batch:
            await self._before_batch(conn, batch)

    def get(self, subject: str) -> Registration | None:
        return self._by_subject.get(subject)

    @property
    def subjects(self) -> list[str]:
        return sorted(self._by_subject)

    def within(self, patterns: Sequence[str]) -> list[str]:
        """The registered subjects a stream with these subject patterns carries."""
        return [s for s in self.subjects if any(subject_matches(p, s) for p in patterns)]

    def __iter__(self) -> Iterator[Registration]:
        return iter(self._by_subject.values())

    def __len__(self) -> int:
        return len(self._by_subject)
