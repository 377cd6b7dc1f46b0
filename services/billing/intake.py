"""PROJECT and CUSTOMER events -> billing's replica and billable items.

Each handler runs in the consumer's batch transaction (a savepoint per event) after the kit's
inbox check. Billable items are keyed by their source, so an event published twice creates
nothing twice; profiles and customers keep the newest aggregate version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import asyncpg

from mesh.events.handlers import Event, EventHandlers, PoisonMessage
from mesh.grpc.convert import date_from_proto, money_from_proto
from mesh.money import is_currency, parse_decimal
from services.billing.domain import items
from services.billing.domain.model import (
    BillableItem,
    BillingModel,
    BillingProfile,
    BillTo,
    ScheduledMilestone,
)
from services.billing.replica_store import ReplicaStore
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.customer.v1 import events_pb2 as customer_events
from weftwork.project.v1 import events_pb2 as project_events
from weftwork.project.v1 import project_service_pb2 as project_pb

T = TypeVar("T")
MODELS = {
    project_pb.BILLING_MODEL_TIME_AND_MATERIALS: BillingModel.TIME_AND_MATERIALS,
    project_pb.BILLING_MODEL_FIXED_FEE: BillingModel.FIXED_FEE,
    project_pb.BILLING_MODEL_MILESTONE: BillingModel.MILESTONE,
}


class EngagementNotSetUp(Exception):
    """Billing has not seen the engagement activated yet: retried, then dead-lettered."""


def _readable(what: str, parse: Callable[[], T]) -> T:
    """Content no retry can fix is a poison message: dead-lettered at once, with the reason."""
    try:
        return parse()
    except (ValueError, items.InconsistentEvent) as exc:
        raise PoisonMessage(f"{what}: {exc}") from exc


def profile_of(
    message: project_events.EngagementActivated,
) -> tuple[BillingProfile, BillTo | None]:
    e, c = message.engagement, message.customer
    if e.billing_model not in MODELS:
        raise ValueError(f"billing model {e.billing_model} is not one billing knows")
    if not is_currency(e.currency):
        raise ValueError(f"{e.currency!r} is not an ISO 4217 currency")
    markup = parse_decimal(e.expense_markup_percent) if e.expense_markup_percent else Decimal(0)
    if markup < 0 or e.payment_terms_days < 0:
        raise ValueError("markup and payment terms must not be negative")
    customer_id = uuid.UUID(c.customer_id or e.customer_id)
    milestones = tuple(
        ScheduledMilestone(
            m.id,
            m.name,
            money_from_proto(m.amount),
            date_from_proto(m.due_date) if m.HasField("due_date") else None,
        )
        for m in e.milestones
    )
    profile = BillingProfile(
        engagement_id=uuid.UUID(message.engagement_id),
        code=e.code,
        name=e.name,
        legal_entity=e.legal_entity,
        currency=e.currency,
        billing_model=MODELS[e.billing_model],
        customer_id=customer_id,
        payment_terms_days=e.payment_terms_days,
        expense_markup_percent=markup,
        milestones=milestones,
        version=message.version or e.version,
    )
    # Without a country the snapshot cannot decide VAT: the CUSTOMER stream has to.
    snapshot = BillTo(customer_id, c.name, c.country, c.tax_id or None) if c.country else None
    return profile, snapshot


def customer_of(customer: customer_pb.Customer) -> BillTo:
    return BillTo(
        uuid.UUID(customer.id),
        customer.name,
        customer.country,
        customer.tax_id or None,
        customer.version,
    )


async def _profile(replica: ReplicaStore, engagement_id: str) -> BillingProfile:
    key = _readable("engagement_id", lambda: uuid.UUID(engagement_id))
    found = (await replica.profiles([key])).get(key)
    if found is None:
        raise EngagementNotSetUp(f"engagement {key} not activated in billing yet")
    return found


async def engagement_activated(
    conn: asyncpg.Connection, event: Event[project_events.EngagementActivated]
) -> None:
    profile, customer = _readable("engagement.activated", lambda: profile_of(event.message))
    replica = ReplicaStore(conn)
    if customer is not None:
        # The snapshot lets invoices be priced without waiting on the CUSTOMER stream.
        await replica.put_customer(customer)
    await replica.upsert_profile(profile)


async def time_entries_approved(
    conn: asyncpg.Connection, event: Event[project_events.TimeEntriesApproved]
) -> None:
    replica = ReplicaStore(conn)
    profile = await _profile(replica, event.message.engagement_id)
    m = event.message

    def billable() -> list[BillableItem]:
        entries = [
            items.ApprovedTime(
                time_entry_id=e.time_entry_id,
                role=e.role,
                date=date_from_proto(e.date),
                hours=parse_decimal(e.hours),
                bill_rate=parse_decimal(e.bill_rate),
                billable=e.billable,
                description=e.description,
            )
            for e in m.entries
        ]
        return items.time_items(profile, entries)

    await _add(replica, "time_entry.approved", billable)


async def expense_approved(
    conn: asyncpg.Connection, event: Event[project_events.ExpenseApproved]
) -> None:
    replica = ReplicaStore(conn)
    profile = await _profile(replica, event.message.engagement_id)
    m = event.message

    def billable() -> list[BillableItem]:
        expense = items.ApprovedExpense(
            expense_id=m.expense_id,
            date=date_from_proto(m.date),
            category=m.category,
            description=m.description,
            amount=money_from_proto(m.amount),
            markup_percent=parse_decimal(m.markup_percent) if m.markup_percent else None,
            billable=m.billable,
        )
        item = items.expense_item(profile, expense)
        return [item] if item else []

    await _add(replica, "expense.approved", billable)


async def milestone_completed(
    conn: asyncpg.Connection, event: Event[project_events.MilestoneCompleted]
) -> None:
    replica = ReplicaStore(conn)
    profile = await _profile(replica, event.message.engagement_id)
    m = event.message

    def billable() -> list[BillableItem]:
        milestone = items.CompletedMilestone(
            m.milestone_id, m.name, money_from_proto(m.amount), date_from_proto(m.completed_on)
        )
        item = items.milestone_item(profile, milestone)
        return [item] if item else []

    await _add(replica, "milestone.completed", billable)


async def _add(
    replica: ReplicaStore, what: str, billable: Callable[[], list[BillableItem]]
) -> None:
    await replica.add_items(_readable(what, billable))


async def customer_changed(
    conn: asyncpg.Connection,
    event: Event[customer_events.CustomerCreated] | Event[customer_events.CustomerUpdated],
) -> None:
    customer = _readable("customer", lambda: customer_of(event.message.customer))
    await ReplicaStore(conn).put_customer(customer)


async def customer_merged(
    conn: asyncpg.Connection, event: Event[customer_events.CustomerMerged]
) -> None:
    m = event.message
    merged_id = _readable("merged_id", lambda: uuid.UUID(m.merged_id))
    survivor = _readable("survivor", lambda: customer_of(m.survivor))
    await ReplicaStore(conn).merge_customer(merged_id, survivor)


def project_handlers() -> EventHandlers:
    handlers = EventHandlers()
    p = "weftwork.project"
    handlers.register(
        f"{p}.engagement.activated.v1", project_events.EngagementActivated, engagement_activated
    )
    handlers.register(
        f"{p}.time_entry.approved.v1", project_events.TimeEntriesApproved, time_entries_approved
    )
    handlers.register(f"{p}.expense.approved.v1", project_events.ExpenseApproved, expense_approved)
    handlers.register(
        f"{p}.milestone.completed.v1", project_events.MilestoneCompleted, milestone_completed
    )
    return handlers


def customer_handlers() -> EventHandlers:
    handlers = EventHandlers()
    c = "weftwork.customer.customer"
    handlers.register(f"{c}.created.v1", customer_events.CustomerCreated, customer_changed)
    handlers.register(f"{c}.updated.v1", customer_events.CustomerUpdated, customer_changed)
    handlers.register(f"{c}.merged.v1", customer_events.CustomerMerged, customer_merged)
    return handlers
