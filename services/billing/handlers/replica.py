"""What PROJECT and CUSTOMER events change in billing: its replica and its billable items.

Each runs in the consumer's batch transaction (a savepoint per event) after the kit's inbox
check. Billable items are keyed by their source, so an event published twice creates nothing
twice; profiles and customers keep the newest aggregate version.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from services.billing.domain import items
from services.billing.domain.model import BillingProfile, BillTo, ScheduledMilestone
from services.billing.handlers import ReplicaRepository


class EngagementNotSetUp(Exception):
    """Billing has not seen the engagement activated yet: retried, then dead-lettered."""


async def _profile(repo: ReplicaRepository, engagement_id: uuid.UUID) -> BillingProfile:
    found = (await repo.profiles([engagement_id])).get(engagement_id)
    if found is None:
        raise EngagementNotSetUp(f"engagement {engagement_id} not activated in billing yet")
    return found


async def set_up_engagement(
    repo: ReplicaRepository, activated: tuple[BillingProfile, BillTo | None]
) -> None:
    """engagement.activated: the profile, and the customer snapshot it carries."""
    profile, customer = activated
    if customer is not None:
        # The snapshot lets invoices be priced without waiting on the CUSTOMER stream.
        await repo.put_customer(customer)
    await repo.upsert_profile(profile)


async def amend_schedule(
    repo: ReplicaRepository,
    amended: tuple[uuid.UUID, tuple[ScheduledMilestone, ...], int],
) -> None:
    """engagement.amended: the milestone schedule of the terms in force (completed milestones
    become billable by their own event, new ones included). An engagement billing has not seen
    activated is skipped: its activation carries the amended terms."""
    engagement_id, milestones, version = amended
    found = (await repo.profiles([engagement_id])).get(engagement_id)
    if found is not None:  # upsert_profile keeps the newer version of the two
        await repo.upsert_profile(replace(found, milestones=milestones, version=version))


async def set_purchase_order_number(
    repo: ReplicaRepository, change: tuple[uuid.UUID, int, str]
) -> None:
    """engagement.purchase_order_set: invoices issued from now on print the new number."""
    engagement_id, version, number = change
    await _profile(repo, engagement_id)  # not set up yet: retried until it is
    await repo.set_purchase_order_number(engagement_id, version, number)


async def add_approved_time(
    repo: ReplicaRepository, approved: tuple[uuid.UUID, list[items.ApprovedTime]]
) -> None:
    engagement_id, entries = approved
    await repo.add_items(items.time_items(await _profile(repo, engagement_id), entries))


async def add_adjusted_time(
    repo: ReplicaRepository, adjusted: tuple[uuid.UUID, items.AdjustedTime]
) -> None:
    engagement_id, correction = adjusted
    item = items.adjustment_item(await _profile(repo, engagement_id), correction)
    await repo.add_items([item] if item else [])


async def add_approved_expense(
    repo: ReplicaRepository, approved: tuple[uuid.UUID, items.ApprovedExpense]
) -> None:
    engagement_id, expense = approved
    item = items.expense_item(await _profile(repo, engagement_id), expense)
    await repo.add_items([item] if item else [])


async def add_completed_milestone(
    repo: ReplicaRepository, completed: tuple[uuid.UUID, items.CompletedMilestone]
) -> None:
    engagement_id, milestone = completed
    item = items.milestone_item(await _profile(repo, engagement_id), milestone)
    await repo.add_items([item] if item else [])


async def put_customer(repo: ReplicaRepository, customer: BillTo) -> None:
    await repo.put_customer(customer)


async def merge_customer(repo: ReplicaRepository, merge: tuple[uuid.UUID, BillTo]) -> None:
    merged_id, survivor = merge
    await repo.merge_customer(merged_id, survivor)
