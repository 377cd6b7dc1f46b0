"""The people who deliver: a small registry, and utilization against their capacity."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from mesh.errors import InvalidArgument, Violations
from services.project.domain.model import LEGAL_ENTITIES, LegalEntities, entity_choices, now
from services.project.domain.values import check_decimal, check_text

DEFAULT_WEEKLY_CAPACITY = Decimal(40)
MAX_RANGE_DAYS = 366
# The HR system's id as it spells it: letters, digits and . _ : - (no spaces).
_PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_CENT = Decimal("0.01")


@dataclass
class Person:
    id: str
    name: str
    home_entity: str
    weekly_capacity_hours: Decimal
    version: int = 1
    created_at: dt.datetime = field(default_factory=now)
    updated_at: dt.datetime = field(default_factory=now)

    def same_facts(self, other: Person) -> bool:
        return (self.name, self.home_entity, self.weekly_capacity_hours) == (
            other.name,
            other.home_entity,
            other.weekly_capacity_hours,
        )


def check_person(
    person_id: str,
    name: str,
    home_entity: str,
    weekly_capacity: str,
    entities: LegalEntities = LEGAL_ENTITIES,
) -> Person:
    errors = Violations()
    if not _PERSON_ID.match(person_id):
        errors.add("person.id", "must be 1-64 letters, digits or . _ : - (the HR system's id)")
    clean_name = check_text(name, "person.name", errors)
    if home_entity not in entities:
        errors.add("person.home_entity", entity_choices(entities))
    capacity = check_decimal(
        weekly_capacity,
        "person.weekly_capacity_hours",
        errors,
        low=Decimal(0),
        high=Decimal(168),
        places=2,
        default=DEFAULT_WEEKLY_CAPACITY,
    )
    errors.raise_if_any()
    assert capacity is not None
    return Person(person_id, clean_name, home_entity, capacity)


def check_range(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    errors = Violations()
    if start is None:
        errors.add("from_date", "is required (a valid date)")
    if end is None:
        errors.add("to_date", "is required (a valid date)")
    errors.raise_if_any()
    assert start is not None and end is not None
    if end < start:
        raise InvalidArgument.one("to_date", f"must not be before from_date {start}")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidArgument.one("to_date", f"the range may span at most {MAX_RANGE_DAYS} days")
    return start, end


def weekdays(start: dt.date, end: dt.date) -> int:
    """Monday to Friday in [start, end]; public holidays are not modelled."""
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    extra = sum(1 for i in range(rest) if (start.weekday() + i) % 7 < 5)
    return weeks * 5 + extra


@dataclass(frozen=True)
class Utilization:
    person: Person
    capacity_hours: Decimal
    approved_hours: Decimal
    billable_hours: Decimal
    submitted_hours: Decimal

    @property
    def percent(self) -> Decimal:
        """Billable utilization: billable approved hours over capacity, two decimals."""
        if self.capacity_hours == 0:
            return Decimal(0)
        ratio = self.billable_hours / self.capacity_hours * 100
        return ratio.quantize(_CENT, rounding=ROUND_HALF_UP)


def capacity(weekly_hours: Decimal, start: dt.date, end: dt.date) -> Decimal:
    """Weekly capacity x weekdays in range / 5, to the hundredth of an hour."""
    return (weekly_hours * weekdays(start, end) / 5).quantize(_CENT, rounding=ROUND_HALF_UP)
