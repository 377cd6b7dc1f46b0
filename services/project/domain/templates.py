"""Engagement templates (DESIGN.md §9): the terms a firm sells again and again, filling what a
won deal leaves out; milestone plans are shares of the contract value."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal

from mesh.errors import Violations
from mesh.money import Money, minor_unit
from services.project.domain.model import (
    LEGAL_ENTITIES,
    BillingModel,
    LegalEntities,
    RateCardLine,
    now,
)
from services.project.domain.opportunity import MilestoneDraft, OpportunityWonDraft, RateCardDraft
from services.project.domain.terms import check_rate_card, plan_fits_model
from services.project.domain.values import check_decimal, check_text

TEMPLATE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")  # e.g. "FF-DISCOVERY"
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class MilestoneShare:
    name: str
    percent: Decimal  # of the contract value, 0 < p <= 100; a plan's shares sum to 100
    due_days_after_start: int  # due that many days after the start (at the latest the end)


@dataclass(frozen=True)
class MilestoneShareDraft:
    name: str
    percent: str
    due_days_after_start: int


@dataclass(frozen=True)
class EngagementTemplate:
    code: str
    name: str
    billing_model: BillingModel
    rate_card: list[RateCardLine]
    milestone_plan: list[MilestoneShare]
    payment_terms_days: int
    expense_markup_percent: Decimal
    updated_at: dt.datetime = field(default_factory=now)


@dataclass(frozen=True)
class TemplateDraft:
    code: str
    name: str
    billing_model: BillingModel | None
    rate_card: list[RateCardDraft]
    milestone_plan: list[MilestoneShareDraft]
    payment_terms_days: int
    expense_markup_percent: str


def check_template(draft: TemplateDraft) -> EngagementTemplate:
    """Every mistake of a template at once (INVALID_ARGUMENT with field violations)."""
    errors = Violations()
    if not TEMPLATE_CODE.match(draft.code):
        errors.add("code", "must be 2-32 upper-case letters, digits, '-' or '_', e.g. FF-AUDIT")
    name = check_text(draft.name, "name", errors)
    if draft.billing_model is None:
        errors.add("billing_model", "is required")
    rate_card = check_rate_card(draft.rate_card, errors)
    plan = _check_plan(draft, errors)
    if not 0 <= draft.payment_terms_days <= 365:
        errors.add("payment_terms_days", "must be between 0 and 365")
    markup = check_decimal(
        draft.expense_markup_percent,
        "expense_markup_percent",
        errors,
        low=Decimal(0),
        high=HUNDRED,
        places=4,
        default=Decimal(0),
    )
    errors.raise_if_any()
    assert draft.billing_model is not None and markup is not None
    return EngagementTemplate(
        draft.code, name, draft.billing_model, rate_card, plan, draft.payment_terms_days, markup
    )


def _check_plan(draft: TemplateDraft, errors: Violations) -> list[MilestoneShare]:
    count = len(draft.milestone_plan)
    if not plan_fits_model(draft.billing_model, count, "milestone_plan", errors, kind="template"):
        return []
    plan: list[MilestoneShare] = []
    for i, m in enumerate(draft.milestone_plan):
        at = f"milestone_plan[{i}]"
        name = check_text(m.name, f"{at}.name", errors)
        percent = check_decimal(
            m.percent, f"{at}.percent", errors, low=Decimal(0), high=HUNDRED, places=4,
            low_exclusive=True,
        )  # fmt: skip
        if not 0 <= m.due_days_after_start <= 3660:
            errors.add(f"{at}.due_days_after_start", "must be between 0 and 3660")
        if percent is not None:
            plan.append(MilestoneShare(name, percent, m.due_days_after_start))
    shares = sum((m.percent for m in plan), Decimal(0))
    if plan and len(plan) == len(draft.milestone_plan) and shares != HUNDRED:
        errors.add("milestone_plan", f"shares sum to {shares} %, not 100 %")
    return plan


def allocate(value: Money, percents: list[Decimal]) -> list[Money]:
    """Shares of `value` rounded down to the minor unit, then the units left over given one by
    one to the largest remainders (earlier first on ties): the amounts sum exactly to value."""
    unit = Decimal(1).scaleb(-minor_unit(value.currency))
    exact = [value.amount * p / HUNDRED for p in percents]
    floors = [x.quantize(unit, rounding=ROUND_DOWN) for x in exact]
    left = int((value.amount - sum(floors, Decimal(0))) / unit)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += unit
    return [Money(x, value.currency) for x in floors]


def apply_template(
    draft: OpportunityWonDraft, t: EngagementTemplate, entities: LegalEntities = LEGAL_ENTITIES
) -> OpportunityWonDraft:
    """The deal's terms, with the template's where the deal says nothing: explicit input wins.
    Milestones come from the plan only when the deal has none and states its value."""
    model = draft.billing_model or t.billing_model
    entity = entities.get(draft.legal_entity)
    currency = draft.currency or (entity.currency if entity else "")
    milestones = draft.milestones
    value = draft.contract_value
    planned = not milestones and t.milestone_plan and model is not BillingModel.TIME_AND_MATERIALS
    if planned and value is not None and value.currency == currency and draft.start_date:
        amounts = allocate(value, [m.percent for m in t.milestone_plan])
        milestones = [
            MilestoneDraft(m.name, amount, _due(draft, m.due_days_after_start))
            for m, amount in zip(t.milestone_plan, amounts, strict=True)
        ]
    return replace(
        draft,
        billing_model=model,
        rate_card=draft.rate_card
        or [RateCardDraft(x.role, str(x.bill_rate), str(x.cost_rate)) for x in t.rate_card],
        milestones=milestones,
        payment_terms_days=(
            t.payment_terms_days if draft.payment_terms_days is None else draft.payment_terms_days
        ),
        expense_markup_percent=draft.expense_markup_percent or str(t.expense_markup_percent),
    )


def _due(draft: OpportunityWonDraft, days: int) -> dt.date:
    assert draft.start_date is not None
    due = draft.start_date + dt.timedelta(days=days)
    return min(due, draft.end_date) if draft.end_date is not None else due
