"""The events billing consumes: each stream's table of subject -> (read the message, apply it).

A message that breaks its contract (unreadable, or inconsistent with the engagement's terms)
is a PoisonMessage: dead-lettered at once with the reason, since no retry can fix it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from mesh.errors import DomainError
from mesh.events.handlers import Event, EventHandler, EventHandlers, PoisonMessage
from services.billing.convert import customers
from services.billing.convert import events as read
from services.billing.domain.items import InconsistentEvent
from services.billing.handlers import ReplicaRepository, replica
from weftwork.customer.v1 import events_pb2 as customer_events
from weftwork.project.v1 import events_pb2 as project_events

F = TypeVar("F")
Repository = Callable[[asyncpg.Connection], ReplicaRepository]


def _on(
    repository: Repository,
    what: str,
    parse: Callable[[Any], F],
    apply: Callable[[ReplicaRepository, F], Awaitable[None]],
) -> EventHandler[Any]:
    async def handle(conn: asyncpg.Connection, event: Event[Any]) -> None:
        try:
            fact = parse(event.message)
        except (ValueError, DomainError) as exc:
            raise PoisonMessage(f"{what}: {exc}") from exc
        try:
            await apply(repository(conn), fact)
        except InconsistentEvent as exc:
            raise PoisonMessage(f"{what}: {exc}") from exc

    return handle


def project_events_handlers(repository: Repository) -> EventHandlers:
    table, p = EventHandlers(), "weftwork.project"
    table.register(
        f"{p}.engagement.activated.v1",
        project_events.EngagementActivated,
        _on(repository, "engagement.activated", read.profile_of, replica.set_up_engagement),
    )
    table.register(
        f"{p}.engagement.amended.v1",
        project_events.EngagementAmended,
        _on(repository, "engagement.amended", read.amended_schedule, replica.amend_schedule),
    )
    table.register(
        f"{p}.time_entry.approved.v1",
        project_events.TimeEntriesApproved,
        _on(repository, "time_entry.approved", read.approved_time, replica.add_approved_time),
    )
    table.register(
        f"{p}.time_entry.adjusted.v1",
        project_events.TimeEntryAdjusted,
        _on(repository, "time_entry.adjusted", read.adjusted_time, replica.add_adjusted_time),
    )
    table.register(
        f"{p}.expense.approved.v1",
        project_events.ExpenseApproved,
        _on(repository, "expense.approved", read.approved_expense, replica.add_approved_expense),
    )
    table.register(
        f"{p}.engagement.purchase_order_set.v1",
        project_events.PurchaseOrderNumberSet,
        _on(
            repository,
            "engagement.purchase_order_set",
            read.purchase_order_set,
            replica.set_purchase_order_number,
        ),
    )
    table.register(
        f"{p}.milestone.completed.v1",
        project_events.MilestoneCompleted,
        _on(
            repository,
            "milestone.completed",
            read.completed_milestone,
            replica.add_completed_milestone,
        ),
    )
    return table


def customer_events_handlers(repository: Repository) -> EventHandlers:
    table, c = EventHandlers(), "weftwork.customer.customer"
    changed = _on(repository, "customer", customers.changed_customer, replica.put_customer)
    table.register(f"{c}.created.v1", customer_events.CustomerCreated, changed)
    table.register(f"{c}.updated.v1", customer_events.CustomerUpdated, changed)
    table.register(
        f"{c}.merged.v1",
        customer_events.CustomerMerged,
        _on(repository, "customer.merged", customers.merged_customer, replica.merge_customer),
    )
    return table
