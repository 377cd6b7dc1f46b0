"""The engagement aggregate, people and utilization, and the creation flow (no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, cast

import pytest

from mesh.errors import FailedPrecondition, InvalidArgument, Unavailable
from mesh.idempotency import IdempotencyKeyReused
from mesh.money import Money
from services.project.domain.model import (
    CustomerSnapshot,
    Engagement,
    EngagementStatus,
    Milestone,
    MilestoneStatus,
    engagement_code,
)
from services.project.domain.opportunity import Account, OpportunityWon, RateCardDraft
from services.project.domain.people import Utilization, capacity, check_person, weekdays
from services.project.domain.terms import check_opportunity_won
from services.project.handlers import ProjectRepository
from services.project.handlers.engagements import create_engagement_from_opportunity
from tests.unit.test_project_terms import draft
from tests.unit.test_project_time import engagement

MONDAY = dt.date(2025, 3, 3)


def test_codes_carry_entity_year_and_a_four_digit_number() -> None:
    assert engagement_code("UK01", 2025, 42) == "PRJ-UK01-2025-0042"
    assert engagement_code("DE01", 2026, 12345) == "PRJ-DE01-2026-12345"


def test_completing_twice_on_the_same_day_is_a_retry_and_another_day_a_conflict() -> None:
    e = engagement()
    with pytest.raises(InvalidArgument):
        e.complete(e.start_date - dt.timedelta(days=1))
    assert e.complete(MONDAY) is True
    assert (e.status, e.version) == (EngagementStatus.COMPLETED, 2)
    assert e.complete(MONDAY) is False
    with pytest.raises(FailedPrecondition):
        e.complete(MONDAY + dt.timedelta(days=1))
    assert e.version == 2


def test_a_milestone_completes_once_within_the_engagement() -> None:
    e = engagement()
    m = Milestone(uuid.uuid4(), e.id, "Go-live", Money.of(100, "USD"), e.end_date)
    e.milestones = [m]
    with pytest.raises(InvalidArgument):
        e.complete_milestone(m.id, e.end_date + dt.timedelta(days=1))
    assert e.complete_milestone(m.id, MONDAY) is m
    assert (m.status, e.version) == (MilestoneStatus.COMPLETED, 2)
    assert e.complete_milestone(m.id, MONDAY) is None
    with pytest.raises(FailedPrecondition):
        e.complete_milestone(m.id, MONDAY + dt.timedelta(days=1))


def test_staffing_needs_a_rate_card_role_and_changes_only_when_the_plan_does() -> None:
    e = engagement()
    with pytest.raises(InvalidArgument):
        e.assign("p-1", "Pilot", Decimal(10))
    assert e.assign("p-1", "Dev", Decimal(10)) is True
    assert e.assign("p-1", "Dev", Decimal(10)) is False
    assert e.assign("p-1", "Dev", Decimal(12)) is True
    assert [(a.person_id, a.planned_hours) for a in e.assignments] == [("p-1", Decimal(12))]
    assert e.version == 3


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (MONDAY, 7, 5),
        (MONDAY + dt.timedelta(days=5), 2, 0),
        (MONDAY, 14, 10),
        (MONDAY, 1, 1),
        (MONDAY + dt.timedelta(days=2), 10, 8),
    ],
)
def test_weekdays_count_monday_to_friday(start: dt.date, days: int, expected: int) -> None:
    assert weekdays(start, start + dt.timedelta(days=days - 1)) == expected


def test_utilization_is_billable_hours_over_weekday_capacity() -> None:
    person = check_person("E-1", "Ada", "UK01", "")
    assert person.weekly_capacity_hours == 40  # the default
    two_weeks = capacity(Decimal(32), MONDAY, MONDAY + dt.timedelta(days=13))
    assert two_weeks == Decimal("64.00")
    used = Utilization(person, two_weeks, Decimal(50), Decimal(41), Decimal(0))
    assert used.percent == Decimal("64.06")  # 41 / 64 = 64.0625 %
    idle = Utilization(person, Decimal(0), Decimal(3), Decimal(3), Decimal(0))
    assert idle.percent == 0


class Repo:
    """Only what creation reads before it resolves the customer."""

    def __init__(self, known: Any = None) -> None:
        self.known = known

    async def engagement_by_opportunity(self, _: object) -> Any:
        return self.known


class Transactions:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.opened = 0

    async def __call__(self, work: Callable[[ProjectRepository], Awaitable[Any]]) -> Any:
        self.opened += 1
        if self.opened > 1:
            raise AssertionError("a second transaction would write")
        return await work(cast(ProjectRepository, self.repo))


class Customers:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0

    async def resolve(self, source: str, account: Account) -> CustomerSnapshot:
        self.calls += 1
        if self.error:
            raise self.error
        raise AssertionError("not reached in these tests")


async def test_a_customer_outage_ends_creation_before_anything_is_written() -> None:
    transact = Transactions(Repo())
    customers = Customers(Unavailable("customer service: UNAVAILABLE"))
    with pytest.raises(Unavailable):
        await create_engagement_from_opportunity(
            transact, customers, check_opportunity_won(draft())
        )
    assert (transact.opened, customers.calls) == (1, 1)  # one read, then nothing


def engagement_of(won: OpportunityWon) -> Engagement:
    """The engagement a first close-won with these terms created."""
    return engagement(
        won.currency,
        name=won.name,
        legal_entity=won.legal_entity,
        billing_model=won.billing_model,
        opportunity=won.opportunity,
        contract_value=won.contract_value,
        budget_hours=won.budget_hours,
        start_date=won.start_date,
        end_date=won.end_date,
        rate_card=won.rate_card,
        payment_terms_days=won.payment_terms_days,
        expense_markup_percent=won.expense_markup_percent,
    )


async def test_a_retry_is_answered_without_calling_the_customer_service() -> None:
    won = check_opportunity_won(draft())
    known = engagement_of(won)
    customers = Customers(Unavailable("down"))
    creation = await create_engagement_from_opportunity(Transactions(Repo(known)), customers, won)
    assert (creation.engagement, creation.created, customers.calls) == (known, False, 0)


async def test_a_repeat_with_other_terms_is_an_idempotency_key_reused() -> None:
    known = engagement_of(check_opportunity_won(draft()))
    customers = Customers(Unavailable("down"))
    other = check_opportunity_won(draft(rate_card=[RateCardDraft("Consultant", "160", "80.5")]))
    with pytest.raises(IdempotencyKeyReused, match=r"^IDEMPOTENCY_KEY_REUSED: .*PRJ-US01-2025"):
        await create_engagement_from_opportunity(Transactions(Repo(known)), customers, other)
    assert customers.calls == 0
