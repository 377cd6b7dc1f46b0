"""Commercial terms of a won opportunity, per billing model (DESIGN.md §3 "Engagements")."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from mesh.errors import InvalidArgument
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES
from mesh.money import Money
from services.project.domain.model import BillingModel
from services.project.domain.opportunity import (
    Account,
    MilestoneDraft,
    OpportunityWonDraft,
    RateCardDraft,
)
from services.project.domain.terms import check_opportunity_won

START, END = dt.date(2025, 1, 6), dt.date(2025, 12, 19)


def draft(**changes: object) -> OpportunityWonDraft:
    base = OpportunityWonDraft(
        source="salesforce",
        opportunity_id="006-1",
        account=Account("001-9", "Initech", "initech.example", "", "us"),
        name="Initech TPS rollout",
        legal_entity="US01",
        currency="",
        billing_model=BillingModel.TIME_AND_MATERIALS,
        contract_value=None,
        budget_hours="",
        start_date=START,
        end_date=END,
        rate_card=[RateCardDraft("Consultant", "150", "80.5")],
        milestones=[],
        payment_terms_days=None,
        expense_markup_percent="",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def milestones(*amounts: str, currency: str = "EUR") -> list[MilestoneDraft]:
    return [
        MilestoneDraft(f"M{i}", Money(Decimal(a), currency), END) for i, a in enumerate(amounts)
    ]


def fields(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


def test_time_and_materials_takes_the_defaults_a_controller_expects() -> None:
    won = check_opportunity_won(draft())
    assert (won.currency, won.contract_value) == ("USD", Money.zero("USD"))  # the entity's
    assert (won.payment_terms_days, won.expense_markup_percent, won.budget_hours) == (
        30,
        Decimal(0),
        Decimal(0),
    )
    assert won.account.country == "US"
    assert won.rate_card[0].cost_rate == Decimal("80.5")


def test_an_engagement_may_be_priced_in_another_currency_than_its_entity() -> None:
    won = check_opportunity_won(
        draft(legal_entity="DE01", currency="USD", contract_value=Money(Decimal(5), "USD"))
    )
    assert (won.legal_entity, won.currency) == ("DE01", "USD")


def test_milestone_amounts_must_sum_to_the_contract_value_to_the_cent() -> None:
    base = draft(
        legal_entity="DE01",
        billing_model=BillingModel.MILESTONE,
        contract_value=Money(Decimal("30000.00"), "EUR"),
    )
    won = check_opportunity_won(replace(base, milestones=milestones("10000", "20000.00")))
    assert [m[1] for m in won.milestones] == [Money.of(10000, "EUR"), Money.of(20000, "EUR")]
    with pytest.raises(InvalidArgument) as error:
        check_opportunity_won(replace(base, milestones=milestones("10000", "19999.99")))
    assert fields(error) == ["milestones"]
    assert "29999.99 EUR" in error.value.message
    with pytest.raises(InvalidArgument) as error:
        check_opportunity_won(replace(base, milestones=[]))
    assert fields(error) == ["milestones"]


def test_fixed_fee_needs_a_price_and_budget_hours_and_bills_its_schedule_exactly() -> None:
    with pytest.raises(InvalidArgument) as error:
        check_opportunity_won(draft(billing_model=BillingModel.FIXED_FEE, budget_hours="0"))
    assert fields(error) == ["contract_value", "budget_hours"]
    fee = draft(
        billing_model=BillingModel.FIXED_FEE,
        budget_hours="420.5",
        contract_value=Money(Decimal(60000), "USD"),
    )
    assert check_opportunity_won(fee).milestones == []  # a schedule is optional
    with pytest.raises(InvalidArgument) as error:
        check_opportunity_won(replace(fee, milestones=milestones("50000", currency="USD")))
    assert fields(error) == ["milestones"]


def test_time_and_materials_refuses_milestones() -> None:
    with pytest.raises(InvalidArgument) as error:
        check_opportunity_won(draft(milestones=milestones("1", currency="USD")))
    assert fields(error) == ["milestones"]


def test_every_mistake_is_reported_at_once_with_its_field() -> None:
    with pytest.raises(InvalidArgument) as error:
        check_opportunity_won(
            draft(
                source="Sales Force",
                opportunity_id=" ",
                account=Account("", "", "", "", "UK"),
                legal_entity="FR01",
                currency="EURO",
                billing_model=None,
                end_date=START - dt.timedelta(days=1),
                rate_card=[RateCardDraft("Dev", "-1", "1e3"), RateCardDraft("dev", "1", "1")],
                payment_terms_days=400,
                expense_markup_percent="150",
            )
        )
    assert fields(error) == [
        "source",
        "opportunity_id",
        "account.name",
        "account.country",
        "legal_entity",
        "currency",
        "billing_model",
        "end_date",
        "rate_card[0].bill_rate",
        "rate_card[0].cost_rate",
        "rate_card[1].role",
        "payment_terms_days",
        "expense_markup_percent",
    ]


@pytest.mark.parametrize(
    ("amount", "currency", "ok"),
    [
        ("100.5", "JPY", False),
        ("100", "JPY", True),
        ("1.234", "KWD", True),
        ("1.2345", "KWD", False),
    ],
)
def test_money_in_must_be_exact_to_the_currency_minor_unit(
    amount: str, currency: str, ok: bool
) -> None:
    attempt = draft(currency=currency, contract_value=Money(Decimal(amount), ""))
    us = DEFAULT_LEGAL_ENTITIES["US01"]
    entities = {"US01": replace(us, currencies=(*us.currencies, currency))}
    if ok:
        won = check_opportunity_won(attempt, entities)
        assert won.contract_value == Money(Decimal(amount), currency)
    else:
        with pytest.raises(InvalidArgument) as error:
            check_opportunity_won(attempt, entities)
        assert fields(error) == ["contract_value"]


def test_an_engagement_is_priced_in_one_of_its_entitys_currencies() -> None:
    fr = replace(DEFAULT_LEGAL_ENTITIES["DE01"], code="FR01", country="FR", currencies=("EUR",))
    entities = {"FR01": fr}
    won = check_opportunity_won(draft(legal_entity="FR01"), entities)
    assert (won.legal_entity, won.currency) == ("FR01", "EUR")  # the first is the default
    with pytest.raises(InvalidArgument, match="FR01 contracts in EUR, not USD") as error:
        check_opportunity_won(draft(legal_entity="FR01", currency="USD"), entities)
    assert fields(error) == ["currency"]
    with pytest.raises(InvalidArgument, match="must be one of FR01") as error:
        check_opportunity_won(draft(legal_entity="US01"), entities)  # not configured here
    assert fields(error) == ["legal_entity"]
