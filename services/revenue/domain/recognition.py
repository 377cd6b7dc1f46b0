"""What each billing model recognizes, and when (DESIGN.md §3; ASC 606 / IFRS 15 step 5)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mesh.money import Money, total
from services.revenue.domain.facts import (
    BillingModel,
    EngagementCompleted,
    ExpenseApproved,
    Fact,
    MilestoneCompleted,
    RatedTime,
    Terms,
    TimeApproved,
)
from services.revenue.domain.journal import Basis
from services.revenue.domain.position import percent

ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Progress:
    """Where a contract stands before a fact is recognized (its hours already counted)."""

    approved_hours: Decimal
    completed_on: dt.date | None
    recognized_fee: Money  # recognized against the contract value (all but expenses)


@dataclass(frozen=True)
class Recognition:
    """One recognition posting to make; zero posts nothing, a negative amount takes back."""

    basis: Basis
    amount: Money
    service_date: dt.date
    source_ids: tuple[str, ...]
    description: str


def earned(
    terms: Terms, progress: Progress, fact: Fact, entries: Sequence[RatedTime]
) -> list[Recognition]:
    """What a delivery earns under the contract's billing model, once its hours are counted.

    `entries` are the time entries of `fact` not seen before.
    """
    model = terms.billing_model
    match fact:
        case TimeApproved() if model is BillingModel.TIME_AND_MATERIALS:
            return time_as_delivered(entries, terms.currency)
        case TimeApproved() if model is BillingModel.FIXED_FEE and entries:
            if progress.completed_on is not None:
                return []  # completion already recognized the whole contract value
            hours, budget = progress.approved_hours, terms.budget_hours
            done = percent_complete(hours, budget)
            return [
                Recognition(
                    Basis.PERCENT_COMPLETE,
                    catch_up(terms.contract_value, hours, budget, progress.recognized_fee),
                    # Progress is measured as of the latest day these hours were worked.
                    max(e.service_date for e in entries),
                    (),
                    f"Percent complete {percent(done, ONE)} % ({hours} of {budget} h)",
                )
            ]
        case ExpenseApproved() if fact.billable:
            # Billed at the marked-up amount, so recognized at it, in every billing model.
            markup = fact.markup_percent
            amount = billable_expense(
                fact.amount, terms.expense_markup_percent if markup is None else markup
            )
            return [
                Recognition(
                    Basis.EXPENSE,
                    amount,
                    fact.service_date,
                    (fact.expense_id,),
                    f"Expense delivered: {fact.category}",
                )
            ]
        # FIXED_FEE milestones are only its billing schedule: its revenue follows the hours.
        case MilestoneCompleted() if model is BillingModel.MILESTONE:
            return [
                Recognition(
                    Basis.MILESTONE,
                    fact.amount,
                    fact.completed_on,
                    (fact.milestone_id,),
                    f"Milestone completed: {fact.name}",
                )
            ]
        case EngagementCompleted() if model is BillingModel.FIXED_FEE:
            return [
                Recognition(
                    Basis.COMPLETION,
                    terms.contract_value - progress.recognized_fee,
                    fact.completed_on,
                    (),
                    "Engagement completed: the rest of the contract value",
                )
            ]
    return []


def time_as_delivered(entries: Sequence[RatedTime], currency: str) -> list[Recognition]:
    """T&M: billable hours x bill rate (each entry rounded once), one posting per service date."""
    by_date: dict[dt.date, list[RatedTime]] = defaultdict(list)
    for entry in entries:
        if entry.billable:
            by_date[entry.service_date].append(entry)
    return [
        Recognition(
            Basis.TIME,
            total((Money.of(e.hours * e.bill_rate, currency) for e in rated), currency),
            day,
            tuple(e.time_entry_id for e in rated),
            f"Time delivered on {day}: {sum((e.hours for e in rated), Decimal(0))} h",
        )
        for day, rated in sorted(by_date.items())
    ]


def percent_complete(approved_hours: Decimal, budget_hours: Decimal) -> Decimal:
    """FIXED_FEE progress: min(1, approved hours / budget hours)."""
    return min(ONE, approved_hours / budget_hours)


def catch_up(
    contract_value: Money, approved_hours: Decimal, budget_hours: Decimal, recognized_fee: Money
) -> Money:
    """FIXED_FEE cumulative catch-up: round(contract value x percent complete) - recognized so
    far; negative when a correction lowered the approved hours (revenue is taken back)."""
    return contract_value.times(percent_complete(approved_hours, budget_hours)) - recognized_fee


def billable_expense(amount: Money, markup_percent: Decimal) -> Money:
    """A billable expense at amount x (1 + markup / 100), rounded once, as billing bills it."""
    return amount.times(ONE + markup_percent / HUNDRED)


def hours_cost(entry: RatedTime, currency: str) -> Money:
    """Cost of approved time, billable or not: hours x cost rate, rounded once."""
    return Money.of(entry.hours * entry.cost_rate, currency)
