"""Engagement templates (DESIGN.md §9), without I/O: the plan's shares rounded so the amounts
sum exactly, what a template fills, and what the deal says winning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mesh.errors import InvalidArgument
from mesh.money import Money
from services.project.domain.model import BillingModel
from services.project.domain.opportunity import MilestoneDraft, RateCardDraft
from services.project.domain.templates import (
    MilestoneShareDraft,
    TemplateDraft,
    allocate,
    apply_template,
    check_template,
)
from services.project.domain.terms import check_opportunity_won
from tests.unit.test_project_terms import END, START, draft, fields

D = Decimal


def template(**changes: object) -> TemplateDraft:
    base = TemplateDraft(
        code="FF-THIRDS",
        name="Fixed fee in thirds",
        billing_model=BillingModel.FIXED_FEE,
        rate_card=[RateCardDraft("Senior", "200", "110")],
        milestone_plan=[
            MilestoneShareDraft("Kick-off", "33.3333", 0),
            MilestoneShareDraft("Design", "33.3333", 30),
            MilestoneShareDraft("Go-live", "33.3334", 3000),
        ],
        payment_terms_days=45,
        expense_markup_percent="10",
    )
    return TemplateDraft(**{**base.__dict__, **changes})


@pytest.mark.parametrize(
    ("value", "currency", "percents", "expected"),
    [
        # 100.00 x 33.3333 % = 33.33333: floors 33.33 x 3 = 99.99; the one cent left goes to
        # the largest remainder, the last share (33.3334 % -> 33.33340).
        ("100.00", "USD", ["33.3333", "33.3333", "33.3334"], ["33.33", "33.33", "33.34"]),
        # Equal remainders: the earlier share gets the unit first.
        ("100", "JPY", ["33.3333", "33.3333", "33.3334"], ["33", "33", "34"]),
        ("10.00", "EUR", ["50", "25", "25"], ["5.00", "2.50", "2.50"]),
        # 0.001 KWD units: 1.000 / 3 shares -> 0.333 x 3 = 0.999, one fils to the largest.
        ("1.000", "KWD", ["33.33", "33.33", "33.34"], ["0.333", "0.333", "0.334"]),
        ("0.05", "GBP", ["20"] * 5, ["0.01"] * 5),
        ("0.02", "GBP", ["25"] * 4, ["0.01", "0.01", "0.00", "0.00"]),
    ],
)
def test_shares_are_rounded_by_largest_remainder_and_sum_exactly(
    value: str, currency: str, percents: list[str], expected: list[str]
) -> None:
    amounts = allocate(Money(D(value), currency), [D(p) for p in percents])
    assert [str(a.amount) for a in amounts] == expected
    assert sum(a.amount for a in amounts) == D(value)


def test_a_template_reports_every_mistake_at_once() -> None:
    with pytest.raises(InvalidArgument) as error:
        check_template(
            template(
                code="bad code",
                billing_model=None,
                rate_card=[],
                milestone_plan=[MilestoneShareDraft("Only", "60", -1)],
                payment_terms_days=400,
                expense_markup_percent="NaN",
            )
        )
    assert fields(error) == [
        "code",
        "billing_model",
        "rate_card",
        "milestone_plan[0].due_days_after_start",
        "milestone_plan",
        "payment_terms_days",
        "expense_markup_percent",
    ]
    with pytest.raises(InvalidArgument, match="shares sum to 90"):
        check_template(template(milestone_plan=[MilestoneShareDraft("A", "90", 0)]))
    with pytest.raises(InvalidArgument) as error:
        check_template(template(billing_model=BillingModel.TIME_AND_MATERIALS))
    assert fields(error) == ["milestone_plan"]


def test_a_template_fills_what_the_deal_leaves_out() -> None:
    t = check_template(template())
    deal = draft(
        billing_model=None,
        rate_card=[],
        contract_value=Money(D("100000.00"), "USD"),
        budget_hours="500",
    )
    won = check_opportunity_won(apply_template(deal, t))
    assert won.billing_model is BillingModel.FIXED_FEE
    assert [(x.role, x.bill_rate) for x in won.rate_card] == [("Senior", D(200))]
    assert [(n, m.amount, due) for n, m, due in won.milestones] == [
        # 100,000.00 x 33.3333 % = 33,333.30 exactly; x 33.3334 % = 33,333.40.
        ("Kick-off", D("33333.30"), START),
        ("Design", D("33333.30"), START + dt.timedelta(days=30)),
        ("Go-live", D("33333.40"), END),  # 3,000 days after the start: at the end
    ]
    assert (won.payment_terms_days, won.expense_markup_percent) == (45, D(10))


def test_what_the_deal_states_wins_over_the_template() -> None:
    t = check_template(template())
    deal = draft(
        billing_model=BillingModel.MILESTONE,
        rate_card=[RateCardDraft("Lead", "250", "120")],
        contract_value=Money(D("900.00"), "USD"),
        milestones=[MilestoneDraft("All at once", Money(D("900.00"), "USD"), END)],
        payment_terms_days=0,
        expense_markup_percent="0",
    )
    won = check_opportunity_won(apply_template(deal, t))
    assert won.billing_model is BillingModel.MILESTONE
    assert [x.role for x in won.rate_card] == ["Lead"]
    assert [n for n, _, _ in won.milestones] == ["All at once"]
    assert (won.payment_terms_days, won.expense_markup_percent) == (0, D(0))


def test_a_time_and_materials_deal_takes_no_milestones_from_the_template() -> None:
    t = check_template(template())
    deal = draft(rate_card=[], contract_value=Money(D("100.00"), "USD"))
    won = check_opportunity_won(apply_template(deal, t))
    assert (won.billing_model, won.milestones) == (BillingModel.TIME_AND_MATERIALS, [])
