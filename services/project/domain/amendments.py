"""Amendments (DESIGN.md §9): a new version of an engagement's terms, effective on a date.

Fields left out keep their value; a rate card, when given, is the whole new card (it rates time
dated on or after the effective date; approved time keeps its rates); a milestone plan, when
given, is the whole plan of not-yet-completed milestones: a name that is unchanged keeps its
id, COMPLETED milestones never change, PLANNED ones not in the plan are removed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from mesh.errors import FailedPrecondition, Violations
from mesh.money import Money, total
from services.project.domain.model import (
    BillingModel,
    Engagement,
    EngagementStatus,
    Milestone,
    MilestoneStatus,
    RateCardLine,
    now,
)
from services.project.domain.opportunity import MilestoneDraft, RateCardDraft
from services.project.domain.terms import MAX_HOURS, MAX_LINES, check_rate_card
from services.project.domain.values import check_decimal, check_money, check_text
from services.project.domain.versions import RateCard, TermsVersion

MAX_REASON = 500


@dataclass(frozen=True)
class AmendmentDraft:
    """An AmendEngagement request as sent: None / empty means "keep"."""

    effective_date: dt.date | None
    reason: str
    actor: str
    contract_value: Money | None = None
    budget_hours: str = ""
    end_date: dt.date | None = None
    rate_card: tuple[RateCardDraft, ...] = ()
    milestones: tuple[MilestoneDraft, ...] | None = None


@dataclass(frozen=True)
class EngagementAmended:
    """The event: the engagement as amended, and the version the amendment made."""

    engagement: Engagement
    amendment: TermsVersion


@dataclass(frozen=True)
class Amendment:
    terms: TermsVersion
    new_card: RateCard | None  # None: the card was kept
    removed: tuple[uuid.UUID, ...]  # PLANNED milestones the new plan left out
    warnings: tuple[str, ...]


def _plan(
    engagement: Engagement, drafts: tuple[MilestoneDraft, ...], errors: Violations
) -> list[Milestone]:
    """The new plan of not-yet-completed milestones; ids kept by name."""
    if drafts and engagement.billing_model is BillingModel.TIME_AND_MATERIALS:
        errors.add("milestones", "TIME_AND_MATERIALS engagements bill time, not milestones")
        return []
    if len(drafts) > MAX_LINES:
        errors.add("milestones", f"at most {MAX_LINES} milestones")
        return []
    planned = {m.name: m for m in engagement.milestones if m.status is MilestoneStatus.PLANNED}
    completed = {m.name for m in engagement.milestones if m.status is MilestoneStatus.COMPLETED}
    plan: list[Milestone] = []
    seen: set[str] = set()
    for i, m in enumerate(drafts):
        field = f"milestones[{i}]"
        name = check_text(m.name, f"{field}.name", errors)
        if name in completed:
            errors.add(f"{field}.name", f"{name!r} is COMPLETED: completed milestones never change")
        elif name in seen:
            errors.add(f"{field}.name", f"{name!r} appears twice in the plan")
        seen.add(name)
        amount = check_money(
            m.amount, engagement.currency, f"{field}.amount", errors, positive=True
        )
        if m.due_date is None:
            errors.add(f"{field}.due_date", "is required (a valid date)")
        elif amount is not None:
            kept = planned.get(name)
            milestone_id = kept.id if kept else uuid.uuid4()
            plan.append(Milestone(milestone_id, engagement.id, name, amount, m.due_date))
    return plan


def _check_schedule(
    engagement: Engagement, value: Money, milestones: list[Milestone], errors: Violations
) -> None:
    """FIXED_FEE (with a schedule) and MILESTONE: the amounts sum to the contract value."""
    model = engagement.billing_model
    if model is BillingModel.MILESTONE and not milestones:
        errors.add("milestones", "a MILESTONE engagement needs at least one milestone")
    if model is BillingModel.TIME_AND_MATERIALS or not milestones:
        return
    done = [m.amount for m in milestones if m.status is MilestoneStatus.COMPLETED]
    scheduled = total((m.amount for m in milestones), engagement.currency)
    if scheduled != value:
        completed = total(done, engagement.currency)
        errors.add(
            "milestones",
            f"amounts sum to {scheduled} ({completed} completed, {scheduled - completed}"
            f" planned), the contract value is {value}: a difference of {value - scheduled}",
        )


def amend(engagement: Engagement, draft: AmendmentDraft) -> Amendment:
    """Checks the whole amendment (every mistake at once) and, only then, applies it to
    `engagement` (one new version). A COMPLETED engagement is never amended."""
    if engagement.status is EngagementStatus.COMPLETED:
        raise FailedPrecondition(
            f"engagement {engagement.code} is COMPLETED and its terms can no longer be amended;"
            " nothing was changed"
        )
    errors = Violations()
    effective = draft.effective_date
    if effective is None:
        errors.add("effective_date", "is required (a valid date)")
    elif not engagement.covers(effective):
        errors.add(
            "effective_date",
            f"{effective} is outside {engagement.code}"
            f" ({engagement.start_date}..{engagement.end_date})",
        )
    reason = check_text(draft.reason, "reason", errors, max_length=MAX_REASON)
    model = engagement.billing_model
    priced = model is not BillingModel.TIME_AND_MATERIALS
    value = engagement.contract_value
    if draft.contract_value is not None:
        checked = check_money(
            draft.contract_value, engagement.currency, "contract_value", errors, positive=priced
        )
        value = value if checked is None else checked
    budget = engagement.budget_hours
    if draft.budget_hours.strip():
        hours = check_decimal(
            draft.budget_hours, "budget_hours", errors, low=Decimal(0), high=MAX_HOURS,
            places=2, low_exclusive=model is BillingModel.FIXED_FEE,
        )  # fmt: skip
        budget = budget if hours is None else hours
    end = draft.end_date or engagement.end_date
    if end < engagement.start_date:
        errors.add("end_date", f"must not be before the start date {engagement.start_date}")
    elif effective is not None and end < effective:
        errors.add("end_date", f"must not be before the effective date {effective}")
    card: list[RateCardLine] = []
    if draft.rate_card:
        card = check_rate_card(list(draft.rate_card), errors)
    completed = [m for m in engagement.milestones if m.status is MilestoneStatus.COMPLETED]
    planned = [m for m in engagement.milestones if m.status is MilestoneStatus.PLANNED]
    if draft.milestones is not None:
        planned = _plan(engagement, draft.milestones, errors)
    milestones = sorted([*completed, *planned], key=lambda m: (m.due_date, m.name))
    _check_schedule(engagement, value, milestones, errors)
    kept = (draft.contract_value, draft.end_date, draft.milestones)
    if all(k is None for k in kept) and not (draft.budget_hours.strip() or draft.rate_card):
        errors.add(
            "input", "changes nothing: give a contract value, budget hours, an end date, a rate"
            " card or a milestone plan",
        )  # fmt: skip
    errors.raise_if_any()
    assert effective is not None

    warnings = []
    if model is BillingModel.FIXED_FEE and budget < engagement.approved_hours:
        warnings.append(
            f"budget hours {budget} are below the {engagement.approved_hours} hours already"
            " approved: percent complete is capped at 100 %"
        )
    cards = engagement.rate_cards or [
        RateCard(1, engagement.start_date, tuple(engagement.rate_card))
    ]
    new_card = RateCard(engagement.rate_card_version + 1, effective, tuple(card)) if card else None
    kept_ids = {m.id for m in planned}
    removed = tuple(
        m.id
        for m in engagement.milestones
        if m.status is MilestoneStatus.PLANNED and m.id not in kept_ids
    )
    engagement.contract_value, engagement.budget_hours, engagement.end_date = value, budget, end
    engagement.milestones = milestones
    if new_card is not None:
        engagement.rate_cards = [*cards, new_card]
        engagement.rate_card = card
    engagement.terms_version += 1
    engagement.touch()
    terms = TermsVersion(
        version=engagement.terms_version,
        effective_date=effective,
        reason=reason,
        actor=draft.actor[:256],
        contract_value=value,
        budget_hours=budget,
        end_date=end,
        rate_card_version=engagement.rate_card_version,
        milestones=tuple(milestones),
        created_at=now(),
    )
    engagement.amendments = [*engagement.amendments, terms]
    return Amendment(terms, new_card, removed, tuple(warnings))
