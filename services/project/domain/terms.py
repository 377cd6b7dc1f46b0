"""The terms of a won opportunity, checked per billing model; a repeat compared with them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal

import pycountry

from mesh.errors import Violations
from mesh.money import Money, total
from services.project.domain.model import (
    LEGAL_ENTITIES,
    BillingModel,
    Engagement,
    LegalEntities,
    Opportunity,
    RateCardLine,
    entity_choices,
)
from services.project.domain.opportunity import (
    Account,
    OpportunityWon,
    OpportunityWonDraft,
    RateCardDraft,
)
from services.project.domain.purchase_orders import check_purchase_order_number
from services.project.domain.values import (
    MAX_ID,
    MAX_NAME,
    check_currency,
    check_decimal,
    check_money,
    check_text,
)

_SYSTEM = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")  # the customer service's system-name rule
_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)
MAX_RATE = Decimal(1_000_000)
MAX_HOURS = Decimal(10_000_000)
MAX_LINES = 100
DEFAULT_PAYMENT_TERMS = 30


def _check_account(account: Account, errors: Violations) -> Account:
    name = check_text(account.name, "account.name", errors)
    external_id = check_text(
        account.external_id, "account.external_id", errors, max_length=MAX_ID, required=False
    )
    country = account.country.strip().upper()
    if country not in _COUNTRIES:
        errors.add("account.country", f"{account.country[:8]!r} is not an ISO 3166-1 alpha-2 code")
    return replace(account, external_id=external_id, name=name, country=country)


def check_rate_card(lines: list[RateCardDraft], errors: Violations) -> list[RateCardLine]:
    if not lines:
        errors.add("rate_card", "needs at least one role")
    elif len(lines) > MAX_LINES:
        errors.add("rate_card", f"at most {MAX_LINES} roles")
    card: list[RateCardLine] = []
    seen: set[str] = set()
    for i, line in enumerate(lines[:MAX_LINES]):
        role = check_text(line.role, f"rate_card[{i}].role", errors, max_length=100)
        if role.casefold() in seen:
            errors.add(f"rate_card[{i}].role", f"{role!r} appears twice on the rate card")
        seen.add(role.casefold())
        rates = [
            check_decimal(
                text, f"rate_card[{i}].{kind}", errors, low=Decimal(0), high=MAX_RATE, places=4
            )
            for kind, text in (("bill_rate", line.bill_rate), ("cost_rate", line.cost_rate))
        ]
        if rates[0] is not None and rates[1] is not None:
            card.append(RateCardLine(role, rates[0], rates[1]))
    return card


def plan_fits_model(
    model: BillingModel | None, count: int, name: str, errors: Violations, kind: str = "engagement"
) -> bool:
    """A plan of a deal or template (`kind`): none for T&M, some for MILESTONE, <= MAX_LINES."""
    if count and model is BillingModel.TIME_AND_MATERIALS:
        errors.add(name, "TIME_AND_MATERIALS engagements bill time, not milestones")
        return False
    if model is BillingModel.MILESTONE and not count:
        errors.add(name, f"a MILESTONE {kind} needs at least one milestone")
    if count > MAX_LINES:
        errors.add(name, f"at most {MAX_LINES} milestones")
        return False
    return True


def _check_milestones(
    draft: OpportunityWonDraft, currency: str | None, value: Money | None, errors: Violations
) -> list[tuple[str, Money, dt.date]]:
    if not plan_fits_model(draft.billing_model, len(draft.milestones), "milestones", errors):
        return []
    checked = []
    for i, m in enumerate(draft.milestones):
        name = check_text(m.name, f"milestones[{i}].name", errors)
        amount = check_money(m.amount, currency, f"milestones[{i}].amount", errors, positive=True)
        if m.due_date is None:
            errors.add(f"milestones[{i}].due_date", "is required (a valid date)")
        elif amount is not None:
            checked.append((name, amount, m.due_date))
    complete = len(checked) == len(draft.milestones)
    if checked and complete and value is not None and currency is not None:
        # FIXED_FEE milestones are its billing schedule: they bill the fee, no more, no less.
        scheduled = total((amount for _, amount, _ in checked), currency)
        if scheduled != value:
            errors.add("milestones", f"amounts sum to {scheduled}, the contract value is {value}")
    return sorted(checked, key=lambda m: m[2])


def check_opportunity_won(
    draft: OpportunityWonDraft, entities: LegalEntities = LEGAL_ENTITIES
) -> OpportunityWon:
    """DESIGN.md §3 "Engagements": every mistake of the request, reported at once."""
    errors = Violations()
    source = draft.source.strip()
    if not _SYSTEM.match(source):
        errors.add("source", "must be a lower-case CRM name of 2-32 characters, e.g. 'salesforce'")
    opportunity_id = check_text(draft.opportunity_id, "opportunity_id", errors, max_length=MAX_ID)
    account = _check_account(draft.account, errors)
    name = check_text(draft.name, "name", errors, max_length=MAX_NAME)
    entity = entities.get(draft.legal_entity)
    if entity is None:
        errors.add("legal_entity", entity_choices(entities))
    # Any of the entity's contract currencies (WEFTWORK_LEGAL_ENTITIES); empty: its first.
    currency = (
        check_currency(draft.currency, "currency", errors)
        if draft.currency
        else (entity.currency if entity else None)
    )
    if entity and currency and currency not in entity.currencies:
        listed = ", ".join(entity.currencies)
        errors.add("currency", f"{entity.code} contracts in {listed}, not {currency}")
        currency = None
    model = draft.billing_model
    if model is None:
        errors.add("billing_model", "is required")
    priced = model in (BillingModel.FIXED_FEE, BillingModel.MILESTONE)
    value: Money | None = None
    if draft.contract_value is not None or priced:
        value = check_money(
            draft.contract_value, currency, "contract_value", errors, positive=priced
        )
    elif currency is not None:
        value = Money.zero(currency)  # a T&M estimate may be left out
    budget = check_decimal(
        draft.budget_hours,
        "budget_hours",
        errors,
        low=Decimal(0),
        high=MAX_HOURS,
        places=2,
        low_exclusive=model is BillingModel.FIXED_FEE,
        default=None if model is BillingModel.FIXED_FEE else Decimal(0),
    )
    if draft.start_date is None:
        errors.add("start_date", "is required (a valid date)")
    if draft.end_date is None:
        errors.add("end_date", "is required (a valid date)")
    elif draft.start_date is not None and draft.end_date < draft.start_date:
        errors.add("end_date", f"must not be before the start date {draft.start_date}")
    rate_card = check_rate_card(draft.rate_card, errors)
    milestones = _check_milestones(draft, currency, value, errors)
    terms = DEFAULT_PAYMENT_TERMS if draft.payment_terms_days is None else draft.payment_terms_days
    if not 0 <= terms <= 365:
        errors.add("payment_terms_days", "must be between 0 and 365")
    markup = check_decimal(
        draft.expense_markup_percent,
        "expense_markup_percent",
        errors,
        low=Decimal(0),
        high=Decimal(100),
        places=4,
        default=Decimal(0),
    )
    purchase_order = check_purchase_order_number(
        draft.purchase_order_number, "purchase_order_number", errors
    )
    errors.raise_if_any()
    # Every None above was reported, so none is left here.
    assert entity and currency and model and value and draft.start_date and draft.end_date
    assert budget is not None and markup is not None
    return OpportunityWon(
        opportunity=Opportunity(source, opportunity_id),
        account=account,
        name=name,
        legal_entity=entity.code,
        currency=currency,
        billing_model=model,
        contract_value=value,
        budget_hours=budget,
        start_date=draft.start_date,
        end_date=draft.end_date,
        rate_card=rate_card,
        milestones=milestones,
        payment_terms_days=terms,
        expense_markup_percent=markup,
        purchase_order_number=purchase_order,
    )


_TERMS = (
    "name",
    "legal_entity",
    "currency",
    "billing_model",
    "contract_value",
    "budget_hours",
    "start_date",
    "end_date",
    "payment_terms_days",
    "expense_markup_percent",
)


def same_terms(engagement: Engagement, won: OpportunityWon) -> bool:
    """Whether a close-won repeats the terms its engagement was created with (DESIGN.md §6:
    the opportunity is the idempotency key; other terms under it are a conflict, not a retry).
    The account is not a term: the customer was resolved once, at creation."""

    def card(lines: list[RateCardLine]) -> list[tuple[str, Decimal, Decimal]]:
        return sorted((line.role, line.bill_rate, line.cost_rate) for line in lines)

    # Once amended, the deal as won is version 1 of the terms: a retry repeats that.
    first = engagement.original
    as_won = replace(
        engagement,
        contract_value=first.contract_value if first else engagement.contract_value,
        budget_hours=first.budget_hours if first else engagement.budget_hours,
        end_date=first.end_date if first else engagement.end_date,
    )
    lines = engagement.rate_cards[0].lines if first and engagement.rate_cards else ()
    milestones = first.milestones if first else engagement.milestones
    plan = sorted((m.name, m.due_date, m.amount.amount) for m in milestones)
    return (
        all(getattr(as_won, term) == getattr(won, term) for term in _TERMS)
        and card(list(lines) if first else engagement.rate_card) == card(won.rate_card)
        and plan == sorted((name, due, amount.amount) for name, amount, due in won.milestones)
    )
