"""The Engagement aggregate (rate card, milestones, assignments), legal entities and events."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.errors import FailedPrecondition, InvalidArgument
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES, LegalEntitySetting
from mesh.money import Money
from services.project.domain.versions import RateCard, TermsVersion, card_on


class BillingModel(enum.Enum):
    TIME_AND_MATERIALS = "TIME_AND_MATERIALS"
    FIXED_FEE = "FIXED_FEE"
    MILESTONE = "MILESTONE"


class EngagementStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    PENDING_APPROVAL = "PENDING_APPROVAL"  # its entity requires commercial approval first


class MilestoneStatus(enum.Enum):
    PLANNED = "PLANNED"
    COMPLETED = "COMPLETED"


# The configured entities (WEFTWORK_LEGAL_ENTITIES, settings) by code; the defaults of
# DESIGN.md §3 when the caller passes none. `currency` is an entity's default currency.
LegalEntities = Mapping[str, LegalEntitySetting]
LEGAL_ENTITIES: LegalEntities = DEFAULT_LEGAL_ENTITIES


def entity_choices(entities: LegalEntities) -> str:
    return "must be one of " + ", ".join(sorted(entities))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Opportunity:
    system: str
    external_id: str


@dataclass(frozen=True)
class RateCardLine:
    role: str
    bill_rate: Decimal  # per hour, in the engagement's currency
    cost_rate: Decimal


@dataclass
class Milestone:
    id: uuid.UUID
    engagement_id: uuid.UUID
    name: str
    amount: Money
    due_date: dt.date
    status: MilestoneStatus = MilestoneStatus.PLANNED
    completed_on: dt.date | None = None


@dataclass(frozen=True)
class Assignment:
    person_id: str
    role: str
    planned_hours: Decimal
    assigned_at: dt.datetime


@dataclass
class Engagement:
    id: uuid.UUID
    code: str
    name: str
    legal_entity: str
    currency: str
    billing_model: BillingModel
    opportunity: Opportunity
    customer_id: uuid.UUID
    customer_matched_by: str  # the customer service's MatchRule name, kept for retries
    contract_value: Money
    start_date: dt.date
    end_date: dt.date
    budget_hours: Decimal
    rate_card: list[RateCardLine]
    milestones: list[Milestone]
    payment_terms_days: int
    expense_markup_percent: Decimal
    assignments: list[Assignment] = field(default_factory=list)
    status: EngagementStatus = EngagementStatus.ACTIVE
    approved_hours: Decimal = Decimal(0)
    completed_on: dt.date | None = None
    version: int = 1
    created_at: dt.datetime = field(default_factory=now)
    updated_at: dt.datetime = field(default_factory=now)
    terms_version: int = 1  # +1 per amendment (DESIGN.md §9)
    rate_cards: list[RateCard] = field(default_factory=list)  # every version; [] = rate_card
    amendments: list[TermsVersion] = field(default_factory=list)  # terms versions 2, 3, ...
    original: TermsVersion | None = None  # version 1, as won (read back once amended)
    purchase_order_number: str = ""  # the customer's PO; printed on invoices

    def touch(self) -> None:
        """Every change, and every approval call, is one new version."""
        self.version += 1
        self.updated_at = now()

    @property
    def rate_card_version(self) -> int:
        return max((c.version for c in self.rate_cards), default=1)

    def rate_for(self, role: str, on: dt.date | None = None) -> RateCardLine | None:
        """The role's rates: on a date, from the card in effect then; else the current card."""
        lines = self.rate_card if on is None else card_on(self.rate_cards, on, self.rate_card)
        return next((line for line in lines if line.role == role), None)

    def covers(self, day: dt.date) -> bool:
        return self.start_date <= day <= self.end_date

    def require_active(self, what: str) -> None:
        if self.status is EngagementStatus.PENDING_APPROVAL:
            raise FailedPrecondition(
                f"engagement {self.code} is PENDING_APPROVAL and takes no {what} until approved"
            )
        if self.status is not EngagementStatus.ACTIVE:
            raise FailedPrecondition(
                f"engagement {self.code} is {self.status.value} and takes no more {what}"
            )

    def approve(self) -> bool:
        """Commercial approval activates it; False when it already is ACTIVE (a retry)."""
        if self.status is EngagementStatus.ACTIVE:
            return False
        if self.status is not EngagementStatus.PENDING_APPROVAL:
            raise FailedPrecondition(f"engagement {self.code} is {self.status.value}")
        self.status = EngagementStatus.ACTIVE
        self.touch()
        return True

    def complete(self, on: dt.date) -> bool:
        """Completes delivery; False when it already is, on that date (a retry)."""
        if self.status is EngagementStatus.COMPLETED:
            if self.completed_on == on:
                return False
            raise FailedPrecondition(f"engagement {self.code} was completed on {self.completed_on}")
        self.require_active("completion")
        if on < self.start_date:
            raise InvalidArgument.one("completed_on", f"must not be before {self.start_date}")
        self.status = EngagementStatus.COMPLETED
        self.completed_on = on
        self.touch()
        return True

    def complete_milestone(self, milestone_id: uuid.UUID, on: dt.date) -> Milestone | None:
        """The milestone completed now, or None when it already was, on that date (a retry)."""
        milestone = next(m for m in self.milestones if m.id == milestone_id)
        if milestone.status is MilestoneStatus.COMPLETED:
            if milestone.completed_on == on:
                return None
            raise FailedPrecondition(
                f"milestone {milestone.name!r} was completed on {milestone.completed_on}"
            )
        self.require_active("milestone completions")
        if not self.covers(on):
            raise InvalidArgument.one(
                "completed_on",
                f"must be within the engagement ({self.start_date}..{self.end_date})",
            )
        milestone.status = MilestoneStatus.COMPLETED
        milestone.completed_on = on
        self.touch()
        return milestone

    def assign(self, person_id: str, role: str, planned_hours: Decimal) -> bool:
        """Staffs a person in a rate-card role; False when nothing changed."""
        self.require_active("assignments")
        if self.rate_for(role) is None:
            raise InvalidArgument.one("role", f"{role!r} is not on the rate card of {self.code}")
        current = next(
            (a for a in self.assignments if (a.person_id, a.role) == (person_id, role)), None
        )
        if current is not None and current.planned_hours == planned_hours:
            return False
        kept = [a for a in self.assignments if a is not current]
        self.assignments = [*kept, Assignment(person_id, role, planned_hours, now())]
        self.touch()
        return True


def engagement_code(legal_entity: str, year: int, number: int) -> str:
    """PRJ-<entity>-<yyyy>-<nnnn>; numbers past 9999 simply get longer."""
    return f"PRJ-{legal_entity}-{year:04d}-{number:04d}"


@dataclass(frozen=True)
class BillingContact:
    name: str
    email: str


@dataclass(frozen=True)
class PostalAddress:
    lines: tuple[str, ...]
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class CustomerSnapshot:
    """The customer as resolved at creation: what billing needs for VAT and reverse charge,
    and what its invoices print."""

    customer_id: uuid.UUID
    name: str
    country: str
    tax_id: str  # normalized; empty when unknown
    matched_by: str
    contact: BillingContact | None = None
    address: PostalAddress | None = None


@dataclass(frozen=True)
class EngagementActivated:
    engagement: Engagement
    customer: CustomerSnapshot


@dataclass(frozen=True)
class EngagementCompleted:
    engagement: Engagement


@dataclass(frozen=True)
class MilestoneCompleted:
    engagement: Engagement
    milestone: Milestone
