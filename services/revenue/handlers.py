"""Revenue use cases: set up contracts, apply facts, close periods, and the reads."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

from mesh.errors import InvalidArgument, NotFound
from mesh.paging import MAX_PAGE_SIZE, page_limit, split_page
from services.revenue.domain import periods
from services.revenue.domain.accounts import Account, ChartOfAccounts
from services.revenue.domain.contract import Outcome, Posted, RevenueContract
from services.revenue.domain.export import ExportTotal, JournalExport, journal_export
from services.revenue.domain.facts import Fact, Terms, TermsAmended
from services.revenue.domain.journal import EntryKind, JournalEntry
from services.revenue.domain.periods import Ledger, Period, PeriodState
from services.revenue.domain.position import Position
from services.revenue.domain.reports import (
    CurrencyPortfolio,
    GroupBy,
    ReportRow,
    TrialBalance,
    trial_balances,
)

T = TypeVar("T")
# A report spans at most this many days: bounded work per call, and years of months fit.
MAX_REPORT_DAYS = 366 * 10

RevenueEvent = Posted | PeriodState


@dataclass(frozen=True)
class ParkedEvent:
    """An event that arrived before its engagement was set up, kept to apply on activation."""

    event_id: uuid.UUID
    engagement_id: uuid.UUID
    subject: str
    payload: bytes


class RevenueRepository(Protocol):
    """What the use cases that change the books need (tests pass an in-memory fake)."""

    async def lock_engagement(self, engagement_id: uuid.UUID) -> None: ...
    async def contract(self, engagement_id: uuid.UUID) -> RevenueContract | None: ...
    async def contract_for_posting(
        self, engagement_id: uuid.UUID, keys: Sequence[str]
    ) -> tuple[RevenueContract, Ledger, set[str]] | None: ...
    async def add_contract(self, contract: RevenueContract) -> None: ...
    async def save_terms(self, contract: RevenueContract) -> None: ...
    async def record(self, contract: RevenueContract, outcome: Outcome) -> None: ...
    async def park(self, event: ParkedEvent) -> None: ...
    async def unpark(self, engagement_id: uuid.UUID) -> list[ParkedEvent]: ...
    async def lock_ledger(self, legal_entity: str) -> Ledger: ...
    async def period(self, legal_entity: str, period: Period) -> PeriodState | None: ...
    async def earliest_open_period(self, legal_entity: str) -> Period | None: ...
    async def close(self, ledger: Ledger, state: PeriodState) -> None: ...
    async def contracts(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RevenueContract]: ...
    async def account_totals(
        self, legal_entity: str, as_of: dt.date
    ) -> list[tuple[str, Account, Decimal, Decimal]]: ...
    async def emit(self, events: Sequence[RevenueEvent]) -> None: ...


class ReportQueries(Protocol):
    """Set-based reads over the journal (SQL only)."""

    async def journal_page(
        self, selection: JournalSelection, *, after: int | None, limit: int
    ) -> list[tuple[int, JournalEntry]]: ...
    async def closed_through(self, legal_entity: str) -> Period | None: ...
    async def export_totals(self, legal_entity: str, period: Period) -> list[ExportTotal]: ...
    async def periods_page(
        self, legal_entity: str, *, before: Period | None, limit: int
    ) -> list[PeriodState]: ...
    async def revenue_report(
        self, query: ReportQuery, *, after: tuple[str, str] | None, limit: int
    ) -> list[ReportRow]: ...
    async def portfolio(
        self, as_of: dt.date, legal_entity: str | None
    ) -> list[CurrencyPortfolio]: ...


class Repository(RevenueRepository, ReportQueries, Protocol): ...


Transact = Callable[[Callable[[Repository], Awaitable[T]]], Awaitable[T]]


async def set_up_contract(repo: RevenueRepository, terms: Terms) -> list[ParkedEvent]:
    """engagement.activated: the revenue contract; returns the events that came before it."""
    await repo.lock_engagement(terms.engagement_id)
    if await repo.contract(terms.engagement_id) is not None:
        return []  # terms are fixed at activation: a repeat changes nothing
    await repo.add_contract(RevenueContract.set_up(terms))
    return await repo.unpark(terms.engagement_id)


async def amend_terms(repo: RevenueRepository, amended: TermsAmended) -> None:
    """engagement.amended: the contract's value and budget from now on; nothing is posted (the
    next FIXED_FEE posting catches up cumulatively). An engagement revenue has not set up yet
    is skipped: its activation carries the terms in force."""
    await repo.lock_engagement(amended.engagement_id)
    contract = await repo.contract(amended.engagement_id)
    if contract is not None and (terms := amended.apply_to(contract.terms)) is not None:
        contract.terms = terms
        await repo.save_terms(contract)


async def apply_fact(repo: RevenueRepository, fact: Fact) -> bool:
    """Posts what a fact means for its engagement; False when revenue has not set it up yet."""
    found = await repo.contract_for_posting(fact.engagement_id, fact.keys)
    if found is None:
        return False
    contract, ledger, unseen = found  # unseen: the fact's keys not applied before
    if not unseen:
        return True  # every business key of it was applied before: a redelivery
    outcome = contract.apply(fact, unseen, ledger)
    await repo.record(contract, outcome)
    await repo.emit([p for p in outcome.postings if p.entry.kind is EntryKind.RECOGNITION])
    return True


async def apply_or_park(repo: RevenueRepository, fact: Fact, event: ParkedEvent) -> None:
    if await apply_fact(repo, fact):
        return
    # Under the engagement's lock, so a concurrent activation either finds this parked event
    # or we find its contract: nothing waits forever.
    await repo.lock_engagement(fact.engagement_id)
    if not await apply_fact(repo, fact):
        await repo.park(event)


async def close_period(
    repo: RevenueRepository, legal_entity: str, period: Period, *, now: dt.datetime
) -> PeriodState:
    # The entity's ledger row is locked until commit: a posting waits, then sees the close.
    # An entity whose first engagement has not reached us yet can be closed all the same.
    ledger = await repo.lock_ledger(legal_entity)
    state = await repo.period(legal_entity, period)
    earliest_open = await repo.earliest_open_period(legal_entity)
    closing = periods.close_period(ledger, state, period, earliest_open=earliest_open, now=now)
    if closing is None:
        assert state is not None
        return state
    ledger, closed = closing
    await repo.close(ledger, closed)
    await repo.emit([closed])
    return closed


async def get_position(repo: RevenueRepository, engagement_id: uuid.UUID) -> Position:
    contract = await repo.contract(engagement_id)
    if contract is None:
        raise NotFound("revenue contract of engagement", str(engagement_id))
    return contract.position()


async def batch_get_positions(
    repo: RevenueRepository, ids: Sequence[uuid.UUID]
) -> tuple[list[Position], list[uuid.UUID]]:
    found = await repo.contracts(ids)
    return [found[i].position() for i in ids if i in found], [i for i in ids if i not in found]


async def trial_balance(
    repo: RevenueRepository, legal_entity: str, as_of: dt.date
) -> list[TrialBalance]:
    return trial_balances(await repo.account_totals(legal_entity, as_of))


async def export_journal(
    repo: Repository,
    legal_entity: str,
    period: Period,
    *,
    chart: ChartOfAccounts,
    accounts: Mapping[str, str],
) -> JournalExport:
    """Reads the closed state first: a closed period takes no posting, so its lines are final."""
    through = await repo.closed_through(legal_entity)
    closed = through is not None and period <= through
    totals = await repo.export_totals(legal_entity, period)
    return journal_export(
        legal_entity, period, closed=closed, totals=totals, chart=chart, accounts=accounts
    )


@dataclass(frozen=True)
class JournalSelection:
    """An engagement's entries, or an entity's period."""

    engagement_id: uuid.UUID | None = None
    legal_entity: str | None = None
    period: Period | None = None


async def journal(
    repo: Repository, selection: JournalSelection, *, page_size: int, after: int | None
) -> tuple[list[JournalEntry], int | None]:
    limit = page_limit(page_size, default=MAX_PAGE_SIZE)
    if selection.engagement_id and await repo.contract(selection.engagement_id) is None:
        raise NotFound("revenue contract of engagement", str(selection.engagement_id))
    rows, last = split_page(await repo.journal_page(selection, after=after, limit=limit + 1), limit)
    return [entry for _, entry in rows], last[0] if last else None


async def list_periods(
    repo: Repository, legal_entity: str, *, page_size: int, before: Period | None
) -> tuple[list[PeriodState], Period | None]:
    limit = page_limit(page_size, default=MAX_PAGE_SIZE)
    rows, last = split_page(
        await repo.periods_page(legal_entity, before=before, limit=limit + 1), limit
    )
    return rows, last.period if last else None


@dataclass(frozen=True)
class ReportQuery:
    legal_entity: str | None
    from_date: dt.date
    to_date: dt.date
    group_by: GroupBy

    def check(self) -> None:
        if self.to_date < self.from_date:
            raise InvalidArgument.one("to_date", "must not be before from_date")
        if (self.to_date - self.from_date).days > MAX_REPORT_DAYS:
            raise InvalidArgument.one("to_date", f"a report spans at most {MAX_REPORT_DAYS} days")


async def revenue_report(
    repo: Repository, query: ReportQuery, *, page_size: int, after: tuple[str, str] | None
) -> tuple[list[ReportRow], tuple[str, str] | None]:
    limit = page_limit(page_size, default=MAX_PAGE_SIZE)
    query.check()
    rows, last = split_page(await repo.revenue_report(query, after=after, limit=limit + 1), limit)
    return rows, (last.key, last.currency) if last else None


async def portfolio(
    repo: Repository, as_of: dt.date, legal_entity: str | None
) -> list[CurrencyPortfolio]:
    return await repo.portfolio(as_of, legal_entity)
