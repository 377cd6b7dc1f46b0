"""Engagements: created from won opportunities, read, staffed, completed; customers merged."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from mesh.idempotency import IdempotencyKeyReused
from mesh.paging import page_limit, split_page
from services.project.domain.model import (
    CustomerSnapshot,
    Engagement,
    EngagementActivated,
    EngagementCompleted,
    EngagementStatus,
    Milestone,
    MilestoneCompleted,
    Opportunity,
    engagement_code,
)
from services.project.domain.opportunity import Account, OpportunityWon
from services.project.domain.terms import same_terms
from services.project.handlers import EngagementFilter, Lock, ProjectRepository, Transact


@dataclass(frozen=True)
class Creation:
    engagement: Engagement
    created: bool  # False: the opportunity already had this engagement (a retry)


class CustomerResolver(Protocol):
    async def resolve(self, source: str, account: Account) -> CustomerSnapshot: ...


async def create_engagement_from_opportunity(
    transact: Transact,
    customers: CustomerResolver,
    won: OpportunityWon,
    *,
    approval_required: Collection[str] = (),
) -> Creation:
    """ResolveCustomer runs before the transaction opens: no connection waits on another
    service, and a customer outage leaves nothing written. In an entity of
    `approval_required` the engagement waits PENDING_APPROVAL (approve_engagement)."""
    known = await transact(lambda repo: repo.engagement_by_opportunity(won.opportunity))
    if known is not None:  # a retry needs neither the customer service nor a number
        return _repeated(known, won)
    customer = await customers.resolve(won.opportunity.system, won.account)
    gated = won.legal_entity in approval_required
    return await transact(lambda repo: open_engagement(repo, won, customer, gated=gated))


def _repeated(known: Engagement, won: OpportunityWon) -> Creation:
    """The engagement of a repeated close-won; other terms under the same opportunity are an
    idempotency key reused, never silently answered with the first engagement."""
    if not same_terms(known, won):
        opportunity = f"{won.opportunity.system}:{won.opportunity.external_id}"
        raise IdempotencyKeyReused(
            f"opportunity {opportunity} is engagement {known.code}, created with other terms"
        )
    return Creation(known, created=False)


async def find_by_opportunity(repo: ProjectRepository, opportunity: Opportunity) -> Engagement:
    found = await repo.engagement_by_opportunity(opportunity)
    if found is None:
        raise NotFound(
            "engagement of opportunity", f"{opportunity.system}:{opportunity.external_id}"
        )
    return found


async def open_engagement(
    repo: ProjectRepository, won: OpportunityWon, customer: CustomerSnapshot, *, gated: bool
) -> Creation:
    """The engagement row, its code and engagement.activated, in one transaction. The unique
    (source, opportunity) key decides between concurrent identical requests."""
    # A merge we already applied wins over a resolution that raced it; a merge still on its
    # way waits for this transaction and then repoints what it creates.
    await repo.hold_customer(customer.customer_id, exclusive=False)
    customer_id = await repo.survivor_of(customer.customer_id)
    # The code's year is the start date's: a deal closed in December for January is next year's.
    year = won.start_date.year
    number = await repo.next_engagement_number(won.legal_entity, year)
    engagement_id = uuid.uuid4()
    engagement = Engagement(
        id=engagement_id,
        code=engagement_code(won.legal_entity, year, number),
        name=won.name,
        legal_entity=won.legal_entity,
        currency=won.currency,
        billing_model=won.billing_model,
        opportunity=won.opportunity,
        customer_id=customer_id,
        customer_matched_by=customer.matched_by,
        contract_value=won.contract_value,
        start_date=won.start_date,
        end_date=won.end_date,
        budget_hours=won.budget_hours,
        rate_card=won.rate_card,
        milestones=[
            Milestone(uuid.uuid4(), engagement_id, name, amount, due)
            for name, amount, due in won.milestones
        ],
        payment_terms_days=won.payment_terms_days,
        expense_markup_percent=won.expense_markup_percent,
        status=EngagementStatus.PENDING_APPROVAL if gated else EngagementStatus.ACTIVE,
        purchase_order_number=won.purchase_order_number,
    )
    if not await repo.add_engagement(engagement):
        # Lost the race to a twin request (its number stays unused: a gap, never a twin).
        return _repeated(await find_by_opportunity(repo, won.opportunity), won)
    snapshot = replace(customer, customer_id=customer_id)  # the survivor, if merged since
    if gated:  # billing and revenue learn of it on approval
        await repo.hold_activation(engagement.id, snapshot)
    else:
        await repo.emit([EngagementActivated(engagement, snapshot)])
    return Creation(engagement, created=True)


async def approve_engagement(repo: ProjectRepository, engagement_id: uuid.UUID) -> Engagement:
    """Commercial approval: ACTIVE, and engagement.activated with the customer held since
    close-won (following merges since). Approving an ACTIVE engagement again is a retry."""
    engagement = await get_engagement(repo, engagement_id, lock=Lock.UPDATE)
    if not engagement.approve():
        return engagement
    customer = await repo.release_activation(engagement.id, engagement.customer_id)
    if customer is None:  # the migration and close-won always hold one; never half-activate
        raise FailedPrecondition(f"engagement {engagement.code} has no held activation")
    await repo.save_engagements([engagement])
    await repo.emit([EngagementActivated(engagement, customer)])
    return engagement


async def get_engagement(
    repo: ProjectRepository, engagement_id: uuid.UUID, *, lock: Lock = Lock.NONE
) -> Engagement:
    found = (await repo.engagements([engagement_id], lock=lock)).get(engagement_id)
    if found is None:
        raise NotFound("engagement", str(engagement_id))
    return found


async def list_engagements(
    repo: ProjectRepository,
    query: EngagementFilter,
    *,
    page_size: int,
    after: tuple[dt.date, str] | None,
) -> tuple[list[Engagement], tuple[dt.date, str] | None]:
    limit = page_limit(page_size)
    rows, last = split_page(await repo.page_engagements(query, after=after, limit=limit + 1), limit)
    return rows, ((last.start_date, last.code) if last else None)


async def assign_resource(
    repo: ProjectRepository,
    engagement_id: uuid.UUID,
    person_id: str,
    role: str,
    planned_hours: Decimal,
) -> Engagement:
    if await repo.person(person_id) is None:
        raise InvalidArgument.one("person_id", f"{person_id[:64]!r} is not a registered person")
    engagement = await get_engagement(repo, engagement_id, lock=Lock.UPDATE)
    if engagement.assign(person_id, role, planned_hours):
        await repo.save_assignment(engagement.id, engagement.assignments[-1])
        await repo.save_engagements([engagement])
    return engagement


async def get_milestone(repo: ProjectRepository, milestone_id: uuid.UUID) -> Milestone:
    engagement_id = await repo.engagement_of_milestone(milestone_id)
    if engagement_id is None:
        raise NotFound("milestone", str(milestone_id))
    engagement = await get_engagement(repo, engagement_id)
    return next(m for m in engagement.milestones if m.id == milestone_id)


async def complete_milestone(
    repo: ProjectRepository, milestone_id: uuid.UUID, completed_on: dt.date
) -> Milestone:
    engagement_id = await repo.engagement_of_milestone(milestone_id)
    if engagement_id is None:
        raise NotFound("milestone", str(milestone_id))
    engagement = await get_engagement(repo, engagement_id, lock=Lock.UPDATE)
    completed = engagement.complete_milestone(milestone_id, completed_on)
    if completed is None:
        return next(m for m in engagement.milestones if m.id == milestone_id)
    await repo.save_milestone(completed)
    await repo.save_engagements([engagement])
    await repo.emit([MilestoneCompleted(engagement, completed)])
    return completed


async def complete_engagement(
    repo: ProjectRepository, engagement_id: uuid.UUID, completed_on: dt.date
) -> Engagement:
    engagement = await get_engagement(repo, engagement_id, lock=Lock.UPDATE)
    if engagement.complete(completed_on):
        await repo.save_engagements([engagement])
        await repo.emit([EngagementCompleted(engagement)])
    return engagement


async def repoint_merged_customer(
    repo: ProjectRepository, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> int:
    """customer.merged: engagements of the merged customer move to its survivor. Idempotent and
    order-tolerant: merges are final, and a survivor merged later is followed to its own."""
    await repo.hold_customer(merged_id, exclusive=True)
    return await repo.record_merge(merged_id, await repo.survivor_of(survivor_id))
