"""Accounting periods (calendar months per legal entity), closing them, and posting dates."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from mesh.errors import FailedPrecondition

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, written "YYYY-MM"."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text)
        if not match or int(match.group(1)) < 1900:
            raise ValueError(f"{text[:32]!r} is not a period (YYYY-MM)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class PeriodStatus(enum.Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


@dataclass
class PeriodState:
    """A period of one entity that has postings or was closed."""

    legal_entity: str
    period: Period
    status: PeriodStatus = PeriodStatus.OPEN
    closed_at: dt.datetime | None = None
    version: int = 1  # +1 on every change; closing is the only change


@dataclass(frozen=True)
class Ledger:
    """An entity's books as far as dates go: everything up to closed_through is locked.

    Periods close in order (see close_period), so the closed periods are exactly those up to
    closed_through, and "the next open period" after any closed one is closed_through.next().
    """

    legal_entity: str
    closed_through: Period | None = None

    def posting_date(self, service_date: dt.date) -> dt.date:
        """The service date, or the first day of the next open period when its period is closed."""
        if self.closed_through is None or Period.of(service_date) > self.closed_through:
            return service_date
        return self.closed_through.next().first_day


def close_period(
    ledger: Ledger,
    state: PeriodState | None,
    period: Period,
    *,
    earliest_open: Period | None,
    now: dt.datetime,
) -> tuple[Ledger, PeriodState] | None:
    """Closes `period`; None when it already was (a retry changes nothing).

    Like most ERPs we close in order: an earlier period that still has open postings must be
    closed first, and a month that has not ended cannot be closed (it would lock the books
    against work still being recorded). `earliest_open` is the entity's earliest OPEN period
    with postings.
    """
    if state is not None and state.status is PeriodStatus.CLOSED:
        return None
    if period.last_day >= now.date():
        raise FailedPrecondition(
            f"{period} has not ended yet; it can be closed from {period.next().first_day}"
        )
    if earliest_open is not None and earliest_open < period:
        raise FailedPrecondition(
            f"{ledger.legal_entity} {earliest_open} still has open postings; close it first"
        )
    closed = PeriodState(
        legal_entity=ledger.legal_entity,
        period=period,
        status=PeriodStatus.CLOSED,
        closed_at=now,
        version=state.version + 1 if state is not None else 1,
    )
    through = max(period, ledger.closed_through) if ledger.closed_through else period
    return Ledger(ledger.legal_entity, through), closed
