"""Which approved work is billable, and at what price (DESIGN.md §3, Billing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from mesh.money import Money
from services.billing.domain.model import BillableItem, BillingModel, BillingProfile, ItemKind

ONE = Decimal(1)
HUNDRED = Decimal(100)


class InconsistentEvent(ValueError):
    """An event contradicts the engagement's terms; no retry can make it billable."""


@dataclass(frozen=True)
class ApprovedTime:
    time_entry_id: str
    role: str
    date: dt.date
    hours: Decimal
    bill_rate: Decimal  # per hour, snapshotted at approval
    billable: bool
    description: str


@dataclass(frozen=True)
class AdjustedTime:
    """A correction of approved time: the reversal's and the replacement's rated hours."""

    reversal_id: str  # the correction's identity (one reversal per corrected entry)
    role: str
    date: dt.date
    hours_before: Decimal
    hours_after: Decimal
    bill_rate: Decimal
    difference: Money  # replacement + reversal bill amounts, each rounded once by project
    billable: bool
    reason: str


@dataclass(frozen=True)
class ApprovedExpense:
    expense_id: str
    date: dt.date
    category: str
    description: str
    amount: Money
    markup_percent: Decimal | None  # as approved; None when the event did not say
    billable: bool


@dataclass(frozen=True)
class CompletedMilestone:
    milestone_id: str
    name: str
    amount: Money
    completed_on: dt.date


def _same_currency(profile: BillingProfile, amount: Money, what: str) -> None:
    if amount.currency != profile.currency:
        raise InconsistentEvent(
            f"{what} is in {amount.currency} but engagement {profile.engagement_id}"
            f" bills in {profile.currency}"
        )


def time_items(profile: BillingProfile, entries: list[ApprovedTime]) -> list[BillableItem]:
    """Billable time of a TIME_AND_MATERIALS engagement: hours * bill rate, rounded once."""
    if profile.billing_model is not BillingModel.TIME_AND_MATERIALS:
        return []  # fixed-fee and milestone engagements bill their milestones, not hours
    items = []
    for entry in entries:
        if not entry.billable:
            continue  # non-billable time is cost, never billed
        if entry.hours <= 0:
            raise InconsistentEvent(f"time entry {entry.time_entry_id} has {entry.hours} hours")
        described = f"{entry.role} — {entry.date.isoformat()}"
        items.append(
            BillableItem(
                kind=ItemKind.TIME,
                source_id=entry.time_entry_id,
                engagement_id=profile.engagement_id,
                service_date=entry.date,
                description=f"{described}: {entry.description}" if entry.description else described,
                quantity=entry.hours,
                unit_price=Money(entry.bill_rate, profile.currency),
                amount=Money.of(entry.hours * entry.bill_rate, profile.currency),
            )
        )
    return items


def expense_item(profile: BillingProfile, expense: ApprovedExpense) -> BillableItem | None:
    """A billable expense at amount * (1 + markup), rounded once, whatever the billing model."""
    if not expense.billable:
        return None
    _same_currency(profile, expense.amount, f"expense {expense.expense_id}")
    # The markup approved with the expense is the one in force; the profile's is the fallback.
    markup = (
        expense.markup_percent
        if expense.markup_percent is not None
        else profile.expense_markup_percent
    )
    price = expense.amount.times(ONE + markup / HUNDRED)
    return BillableItem(
        kind=ItemKind.EXPENSE,
        source_id=expense.expense_id,
        engagement_id=profile.engagement_id,
        service_date=expense.date,
        description=": ".join(t for t in (expense.category, expense.description) if t) or "Expense",
        quantity=ONE,
        unit_price=price,
        amount=price,
    )


def milestone_item(profile: BillingProfile, milestone: CompletedMilestone) -> BillableItem | None:
    """A completed milestone of a FIXED_FEE or MILESTONE engagement, at its amount."""
    if profile.billing_model is BillingModel.TIME_AND_MATERIALS:
        return None
    _same_currency(profile, milestone.amount, f"milestone {milestone.milestone_id}")
    price = Money.of(milestone.amount.amount, profile.currency)
    return BillableItem(
        kind=ItemKind.MILESTONE,
        source_id=milestone.milestone_id,
        engagement_id=profile.engagement_id,
        service_date=milestone.completed_on,
        description=f"Milestone: {milestone.name}",
        quantity=ONE,
        unit_price=price,
        amount=price,
    )


def adjustment_item(profile: BillingProfile, adjusted: AdjustedTime) -> BillableItem | None:
    """T&M: the difference a correction makes, billed on the next run (negative: a credit
    line); the invoice the original hours are on is never touched."""
    if profile.billing_model is not BillingModel.TIME_AND_MATERIALS or not adjusted.billable:
        return None
    _same_currency(profile, adjusted.difference, f"time correction {adjusted.reversal_id}")
    if not adjusted.difference.amount:
        return None
    before, after = adjusted.hours_before, adjusted.hours_after
    return BillableItem(
        kind=ItemKind.TIME,
        source_id=adjusted.reversal_id,
        engagement_id=profile.engagement_id,
        service_date=adjusted.date,
        description=(
            f"Correction {adjusted.role} — {adjusted.date.isoformat()}: {before} h → {after} h"
            f" ({adjusted.reason})"
        )[:500],
        quantity=after - before,
        unit_price=Money(adjusted.bill_rate, profile.currency),
        amount=adjusted.difference,
    )
