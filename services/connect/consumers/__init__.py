"""The PROJECT, BILLING, REVENUE and CUSTOMER events connect consumes, wired to the fan-out
of outbound webhooks and CRM write-back (one table for the four consumers)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import asyncpg
from google.protobuf.message import DecodeError

from mesh.events.handlers import Delivery, Event, EventHandlers
from services.connect.consumers import catalogue
from services.connect.handlers.fanout import fan_out
from services.connect.store import ConnectStore

STREAMS = ("project", "billing", "revenue", "customer")


def consumer_name(stream: str) -> str:
    """The durable consumer (and inbox name) of connect on another domain's stream."""
    return f"connect-{stream}"


async def _handle(conn: asyncpg.Connection, event: Event[Any]) -> None:
    await fan_out(ConnectStore(conn), catalogue.passed_event(event))


async def lock_engagements(conn: asyncpg.Connection, batch: Sequence[Delivery]) -> None:
    """Every engagement of a batch locked up front, in id order: the PROJECT, BILLING and
    REVENUE consumers update the same engagement's status, and taken in one order a later
    batch waits for an earlier one instead of deadlocking. It also keeps `seq` (delivery
    order) the order in which the events of one engagement were applied."""
    found: list[str] = []
    for d in batch:
        message_type = catalogue.EVENT_TYPES.get(d.subject)
        if message_type is None:
            continue
        message = message_type()
        with contextlib.suppress(DecodeError):  # the poison is dead-lettered when applied
            message.ParseFromString(d.payload)
            if engagement := catalogue.engagement_of(message):
                found.append(engagement)
    await ConnectStore(conn).lock_engagements(found)


def event_handlers() -> EventHandlers:
    table = EventHandlers(before_batch=lock_engagements)
    for subject, message_type in catalogue.EVENT_TYPES.items():
        table.register(subject, message_type, _handle)
    return table
