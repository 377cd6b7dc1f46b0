"""amendEngagement's pure rules (DESIGN.md §9): versions, rate cards by date, milestone plans,
and every refusal leaving the engagement as it was; figures worked by hand."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from decimal import Decimal

import pytest

from mesh.errors import FailedPrecondition, InvalidArgument
from mesh.money import Money
from services.project.domain import time
from services.project.domain.amendments import AmendmentDraft, amend
from services.project.domain.model import (
    BillingModel,
    Engagement,
    EngagementStatus,
    Milestone,
    MilestoneStatus,
    RateCardLine,
)
from services.project.domain.opportunity import MilestoneDraft, RateCardDraft
from services.project.domain.time import TimeEntry
from services.project.domain.versions import RateCard, card_on
from tests.unit.test_project_time import engagement

D = dt.date


def draft(**changes: object) -> AmendmentDraft:
    fields: dict[str, object] = {"effective_date": D(2025, 3, 15), "reason": "CR", "actor": "a"}
    return AmendmentDraft(**{**fields, **changes})  # type: ignore[arg-type]


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def fixed_fee(**changes: object) -> Engagement:
    e = engagement(billing_model=BillingModel.FIXED_FEE, contract_value=usd("100000"))
    for name, value in changes.items():
        setattr(e, name, value)
    return e


def milestone_engagement() -> Engagement:
    e = engagement(billing_model=BillingModel.MILESTONE, contract_value=usd("10000"))
    e.milestones = [
        Milestone(uuid.uuid4(), e.id, "Design", usd("4000"), D(2025, 3, 10),
                  MilestoneStatus.COMPLETED, D(2025, 3, 10)),
        Milestone(uuid.uuid4(), e.id, "Build", usd("6000"), D(2025, 3, 31)),
    ]  # fmt: skip
    return e


def refused(e: Engagement, d: AmendmentDraft) -> list[str]:
    """The fields an amendment is refused on; the engagement must be as it was."""
    before = copy.deepcopy(e)
    with pytest.raises(InvalidArgument) as error:
        amend(e, d)
    assert e == before
    return [v.field for v in error.value.violations]


def test_omitted_fields_keep_their_value_and_a_version_is_recorded() -> None:
    e = fixed_fee()
    done = amend(e, draft(contract_value=usd("130000"), budget_hours="600"))
    assert (e.contract_value, e.budget_hours, e.end_date) == (
        usd("130000"), Decimal(600), D(2025, 3, 31)
    )  # fmt: skip
    assert (e.terms_version, e.version, e.rate_card_version) == (2, 2, 1)
    assert (done.terms.version, done.terms.actor, done.new_card, done.warnings) == (
        2,
        "a",
        None,
        (),
    )
    assert e.amendments == [done.terms]


def test_a_new_card_rates_from_its_effective_date_and_a_backdated_later_one_wins() -> None:
    e = engagement()  # Dev 187.35 from 1 March
    amend(e, draft(rate_card=(RateCardDraft("Dev", "220", "110"),)))
    assert e.rate_card_version == 2
    assert [e.rate_for("Dev", D(2025, 3, d)).bill_rate for d in (14, 15)] == [  # type: ignore[union-attr]
        Decimal("187.35"), Decimal(220)
    ]  # fmt: skip
    amend(e, draft(effective_date=D(2025, 3, 10), rate_card=(RateCardDraft("Dev", "200", "1"),)))
    rates = [card_on(e.rate_cards, D(2025, 3, d), e.rate_card)[0].bill_rate for d in (9, 10, 20)]
    assert rates == [Decimal("187.35"), Decimal(200), Decimal(200)]  # v3 (from the 10th) wins


def test_approval_rates_each_entry_with_the_card_of_its_date() -> None:
    e = engagement()
    amend(e, draft(rate_card=(RateCardDraft("Dev", "220", "110"),)))
    entries = [
        TimeEntry(uuid.uuid4(), e.id, "p-1", "Dev", D(2025, 3, d), Decimal(8), True, "", None)
        for d in (14, 15)
    ]
    time.approve(entries, {e.id: e})
    assert [x.rating and x.rating.bill_amount for x in entries] == [usd("1498.80"), usd("1760")]


def test_a_role_the_new_card_dropped_cannot_be_approved_after_its_date() -> None:
    e = engagement()
    amend(e, draft(rate_card=(RateCardDraft("Lead", "300", "150"),)))
    entry = TimeEntry(uuid.uuid4(), e.id, "p-1", "Dev", D(2025, 3, 20), Decimal(1), True, "", None)
    with pytest.raises(FailedPrecondition):
        time.approve([entry], {e.id: e})
    assert entry.rating is None


def test_a_plan_keeps_ids_by_name_and_never_touches_completed_milestones() -> None:
    e = milestone_engagement()
    design, build = e.milestones
    done = amend(
        e,
        draft(
            contract_value=usd("12000"),
            milestones=(
                MilestoneDraft("Build", usd("5000"), D(2025, 3, 30)),
                MilestoneDraft("Rollout", usd("3000"), D(2025, 3, 31)),
            ),
        ),
    )
    assert [(m.name, m.amount) for m in e.milestones] == [
        ("Design", usd("4000")), ("Build", usd("5000")), ("Rollout", usd("3000"))
    ]  # fmt: skip
    assert e.milestones[0] is design and e.milestones[1].id == build.id
    assert done.removed == ()
    gone = amend(e, draft(contract_value=usd("4000"), milestones=()))
    assert [m.name for m in e.milestones] == ["Design"]
    assert set(gone.removed) == {build.id, done.terms.milestones[2].id}


def test_milestones_that_do_not_sum_to_the_value_are_refused_naming_the_difference() -> None:
    e = milestone_engagement()
    before = copy.deepcopy(e)
    with pytest.raises(InvalidArgument) as error:
        amend(e, draft(contract_value=usd("12000")))
    [violation] = error.value.violations
    assert violation.field == "milestones"
    # 4,000.00 completed + 6,000.00 planned = 10,000.00; 12,000.00 - 10,000.00 = 2,000.00.
    assert "a difference of 2000.00" in violation.description
    assert e == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"effective_date": D(2025, 2, 28)}, "effective_date"),  # before the start
        ({"effective_date": D(2025, 4, 1)}, "effective_date"),  # after the end
        ({"effective_date": None}, "effective_date"),
        ({"reason": " "}, "reason"),
        ({"budget_hours": "0"}, "budget_hours"),  # FIXED_FEE needs a budget
        ({"end_date": D(2025, 3, 14)}, "end_date"),  # before the effective date
        ({"contract_value": usd("0")}, "contract_value"),
        ({"rate_card": (RateCardDraft("Dev", "1", "1"), RateCardDraft("dev", "2", "2"))},
         "rate_card[1].role"),
        ({"milestones": (MilestoneDraft("A", None, D(2025, 3, 20)),)}, "milestones[0].amount"),
    ],
)  # fmt: skip
def test_bad_amendments_are_refused_and_change_nothing(
    changes: dict[str, object], field: str
) -> None:
    base = {"budget_hours": "90"} if "budget_hours" not in changes else {}
    assert field in refused(fixed_fee(), draft(**{**base, **changes}))


def test_an_amendment_that_changes_nothing_and_a_completed_engagement_are_refused() -> None:
    assert refused(fixed_fee(), draft()) == ["input"]
    assert refused(milestone_engagement(), draft(milestones=(
        MilestoneDraft("Design", usd("6000"), D(2025, 3, 31)),
    ))) == ["milestones[0].name"]  # fmt: skip
    e = fixed_fee(status=EngagementStatus.COMPLETED, completed_on=D(2025, 3, 20))
    with pytest.raises(FailedPrecondition):
        amend(e, draft(budget_hours="90"))
    assert e.terms_version == 1


def test_a_budget_below_the_approved_hours_is_allowed_with_a_warning() -> None:
    e = fixed_fee(approved_hours=Decimal(200))
    done = amend(e, draft(budget_hours="150"))
    assert e.budget_hours == Decimal(150)
    [warning] = done.warnings
    assert "below the 200 hours already approved" in warning and "100 %" in warning


def test_an_engagement_read_back_keeps_its_card_history() -> None:
    e = engagement(
        rate_cards=[RateCard(1, D(2025, 3, 1), (RateCardLine("Dev", Decimal(1), Decimal(1)),))]
    )
    assert e.rate_for("Dev", D(2025, 3, 2)) == RateCardLine("Dev", Decimal(1), Decimal(1))
