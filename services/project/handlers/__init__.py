"""The project service's use cases, one module per area, and what they need from storage
(the repository protocol; store/ implements it with SQL in one transaction)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

from mesh.idempotency import KeptResponses
from services.project.domain.amendments import Amendment
from services.project.domain.events import ProjectEvent
from services.project.domain.expenses import Expense, ExpenseStatus
from services.project.domain.model import (
    Assignment,
    CustomerSnapshot,
    Engagement,
    EngagementStatus,
    Milestone,
    Opportunity,
)
from services.project.domain.people import Person
from services.project.domain.templates import EngagementTemplate
from services.project.domain.time import PersonDay, TimeEntry, TimeEntryStatus

T = TypeVar("T")

ExternalKey = tuple[uuid.UUID, str]  # (engagement, the PSA's id)


class Lock(enum.Enum):
    NONE = ""
    SHARE = "FOR SHARE"  # submissions: the engagement may not complete under them
    UPDATE = "FOR UPDATE"  # changes and approvals: one version at a time


@dataclass(frozen=True)
class RecordedTime:
    """A person's live hours over a date range."""

    person: Person
    approved_hours: Decimal
    billable_hours: Decimal
    submitted_hours: Decimal


@dataclass(frozen=True)
class EngagementFilter:
    status: EngagementStatus | None = None
    legal_entity: str | None = None
    customer_id: uuid.UUID | None = None
    legal_entities: tuple[str, ...] = ()  # any of them; empty matches all


class ProjectRepository(KeptResponses, Protocol):
    # Engagements, their milestones and assignments.
    async def engagements(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, Engagement]: ...
    async def engagement_by_opportunity(self, opportunity: Opportunity) -> Engagement | None: ...
    async def engagement_of_milestone(self, milestone_id: uuid.UUID) -> uuid.UUID | None: ...
    async def page_engagements(
        self, query: EngagementFilter, *, after: tuple[dt.date, str] | None, limit: int
    ) -> list[Engagement]: ...
    async def next_engagement_number(self, legal_entity: str, year: int) -> int: ...
    async def add_engagement(self, engagement: Engagement) -> bool: ...
    async def save_engagements(self, engagements: Sequence[Engagement]) -> None: ...
    async def save_purchase_order_number(self, engagement: Engagement) -> None: ...
    async def save_milestone(self, milestone: Milestone) -> None: ...
    async def save_assignment(self, engagement_id: uuid.UUID, assignment: Assignment) -> None: ...
    async def save_amendment(self, engagement: Engagement, amendment: Amendment) -> None: ...
    # Activations held for commercial approval.
    async def hold_activation(
        self, engagement_id: uuid.UUID, customer: CustomerSnapshot
    ) -> None: ...
    async def release_activation(
        self, engagement_id: uuid.UUID, customer_id: uuid.UUID
    ) -> CustomerSnapshot | None: ...
    # Engagement templates.
    async def templates(self, codes: Collection[str] | None = None) -> list[EngagementTemplate]: ...
    async def save_template(self, template: EngagementTemplate) -> None: ...
    # Customers as the CUSTOMER stream tells us about them.
    async def hold_customer(self, customer_id: uuid.UUID, *, exclusive: bool) -> None: ...
    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID: ...
    async def record_merge(self, merged_id: uuid.UUID, survivor_id: uuid.UUID) -> int: ...
    # People.
    async def person(self, person_id: str, *, for_update: bool = False) -> Person | None: ...
    async def known_people(self, ids: Collection[str]) -> set[str]: ...
    async def add_person(self, person: Person) -> bool: ...
    async def update_person(self, person: Person) -> None: ...
    async def page_people(
        self, home_entity: str | None, *, after: tuple[str, str] | None, limit: int
    ) -> list[Person]: ...
    async def utilization(
        self,
        start: dt.date,
        end: dt.date,
        home_entity: str | None,
        *,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[RecordedTime]: ...
    # Time.
    async def time_entries(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, TimeEntry]: ...
    async def time_entries_by_external_id(
        self, keys: Collection[ExternalKey], *, lock: Lock = Lock.NONE
    ) -> dict[ExternalKey, TimeEntry]: ...
    async def lock_submission(
        self, days: Collection[PersonDay], external_ids: Collection[tuple[str, ExternalKey]]
    ) -> None: ...
    async def recorded_hours(
        self, days: Collection[PersonDay], *, excluding: Collection[uuid.UUID] = ()
    ) -> dict[PersonDay, Decimal]: ...
    async def add_time_entries(self, entries: Sequence[TimeEntry]) -> None: ...
    async def replace_time_entries(self, entries: Sequence[TimeEntry]) -> None: ...
    async def save_time_decisions(self, entries: Sequence[TimeEntry]) -> None: ...
    async def replacement_of(self, entry_id: uuid.UUID) -> uuid.UUID | None: ...
    async def add_corrections(self, entries: Sequence[TimeEntry]) -> None: ...
    async def page_time_entries(
        self,
        engagement_id: uuid.UUID,
        status: TimeEntryStatus | None,
        *,
        after: tuple[dt.date, str, uuid.UUID] | None,
        limit: int,
    ) -> list[TimeEntry]: ...
    # Expenses.
    async def expenses(
        self, ids: Collection[uuid.UUID], *, lock: Lock = Lock.NONE
    ) -> dict[uuid.UUID, Expense]: ...
    async def expense_by_external_id(
        self, key: ExternalKey, *, lock: Lock = Lock.NONE
    ) -> Expense | None: ...
    async def add_expense(self, expense: Expense) -> None: ...
    async def replace_expense(self, expense: Expense) -> None: ...
    async def save_expense_approvals(self, expenses: Sequence[Expense]) -> None: ...
    async def save_expense_rejections(self, expenses: Sequence[Expense]) -> None: ...
    async def page_expenses(
        self,
        engagement_id: uuid.UUID,
        status: ExpenseStatus | None,
        *,
        after: tuple[dt.date, uuid.UUID] | None,
        limit: int,
    ) -> list[Expense]: ...
    # Events (and, from KeptResponses, idempotency keys) in the same transaction as the change.
    async def emit(self, events: Sequence[ProjectEvent]) -> None: ...


class Transact(Protocol):
    """Runs a use case with a repository bound to one transaction (rerun on conflicts)."""

    def __call__(self, work: Callable[[ProjectRepository], Awaitable[T]]) -> Awaitable[T]: ...
