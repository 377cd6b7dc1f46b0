"""A won opportunity as connect hands it to project: the GraphQL OpportunityWonInput, checked.

Every decimal that arrives in a webhook is finite and bounded here before any arithmetic
(DESIGN.md §6), through mesh.money; a mistake names the field, camelCase as in GraphQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pycountry

from mesh.money import bounded_amount, bounded_quantity, is_currency, parse_decimal

BILLING_MODELS = ("TIME_AND_MATERIALS", "FIXED_FEE", "MILESTONE")
MAX_TEXT = 500


class Unmappable(Exception):
    """The receipt cannot become an engagement as it stands; the reason says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.reason = f"{code}: {detail}"


@dataclass(frozen=True)
class Account:
    external_id: str
    name: str
    country: str
    domain: str = ""
    tax_id: str = ""


@dataclass(frozen=True)
class RateLine:
    role: str
    bill_rate: Decimal
    cost_rate: Decimal


@dataclass(frozen=True)
class MilestonePlan:
    name: str
    amount: Decimal
    due_date: dt.date | None


@dataclass(frozen=True)
class OpportunityWon:
    opportunity_id: str
    account: Account
    name: str
    legal_entity: str
    currency: str
    billing_model: str
    start_date: dt.date
    end_date: dt.date
    rate_card: list[RateLine]
    contract_value: Decimal | None = None
    budget_hours: Decimal | None = None
    milestones: list[MilestonePlan] = field(default_factory=list)
    payment_terms_days: int | None = None
    expense_markup_percent: Decimal | None = None


def text(value: Any, name: str, *, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise Unmappable("MISSING_FIELD", f"{name} is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Unmappable("INVALID_FIELD", f"{name} must be a string")
    found = str(value).strip()
    if len(found) > MAX_TEXT:
        raise Unmappable("INVALID_FIELD", f"{name} is longer than {MAX_TEXT} characters")
    if required and not found:
        raise Unmappable("MISSING_FIELD", f"{name} is required")
    return found


def number(value: Any, name: str) -> Decimal:
    """A decimal from a JSON string or number; floats never reach here (parsed as Decimal)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise Unmappable("INVALID_FIELD", f"{name} must be a decimal number")
    try:
        return parse_decimal(str(value))
    except ValueError as exc:
        raise Unmappable("INVALID_FIELD", f"{name} {exc}") from None


def amount(value: Any, currency: str, name: str) -> Decimal:
    try:
        return bounded_amount(number(value, name), currency)
    except ValueError as exc:
        raise Unmappable("INVALID_FIELD", f"{name} {exc}") from None


def quantity(value: Any, name: str) -> Decimal:
    try:
        return bounded_quantity(number(value, name))
    except ValueError as exc:
        raise Unmappable("INVALID_FIELD", f"{name} {exc}") from None


def day(value: Any, name: str) -> dt.date:
    """An ISO date, the date of an ISO timestamp, or epoch milliseconds (HubSpot's habit)."""
    raw = text(value, name)
    try:
        if raw.isdigit():
            return dt.datetime.fromtimestamp(int(raw) / 1000, dt.UTC).date()
        return dt.date.fromisoformat(raw[:10])
    except (ValueError, OverflowError, OSError):
        raise Unmappable("INVALID_FIELD", f"{name} {raw[:40]!r} is not a date") from None


def currency_code(value: Any, name: str) -> str:
    code = text(value, name).upper()
    if not is_currency(code):
        raise Unmappable("UNSUPPORTED_CURRENCY", f"{code[:10]!r} is not an ISO 4217 currency")
    return code


def country_code(value: Any, name: str) -> str:
    """ISO 3166-1 alpha-2 from a code or a name as CRMs keep it ("United States", "DEU")."""
    raw = text(value, name)
    if len(raw) == 2 and raw.isalpha():
        return raw.upper()
    try:
        found = pycountry.countries.lookup(raw)
    except LookupError:
        raise Unmappable("INVALID_FIELD", f"{name} {raw[:60]!r} is not a country") from None
    return str(found.alpha_2)


def billing_model(value: Any, name: str) -> str:
    model = text(value, name).upper()
    if model not in BILLING_MODELS:
        raise Unmappable("INVALID_FIELD", f"{name} must be one of {', '.join(BILLING_MODELS)}")
    return model


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 100:
        raise Unmappable("INVALID_FIELD", f"{name} must be a list of at most 100 items")
    return value


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unmappable("INVALID_FIELD", f"{name} must be an object")
    return value


def rate_card(value: Any, name: str) -> list[RateLine]:
    lines = []
    for i, raw in enumerate(_list(value, name)):
        line = _object(raw, f"{name}[{i}]")
        lines.append(
            RateLine(
                role=text(line.get("role"), f"{name}[{i}].role"),
                bill_rate=quantity(line.get("billRate"), f"{name}[{i}].billRate"),
                cost_rate=quantity(line.get("costRate"), f"{name}[{i}].costRate"),
            )
        )
    return lines


def opportunity_from_input(data: Any, source: str) -> OpportunityWon:
    """`data` of a Standard Webhooks `opportunity.won`: OpportunityWonInput as in GraphQL.

    The opportunity's system is always the source's name: a sender cannot write into another
    source's opportunities by naming it."""
    del source
    won = _object(data, "data")
    account = _object(won.get("account"), "data.account")
    currency = currency_code(won.get("currency"), "currency")
    milestones = [
        MilestonePlan(
            name=text(m.get("name"), f"milestones[{i}].name"),
            amount=amount(m.get("amount"), currency, f"milestones[{i}].amount"),
            due_date=day(m["dueDate"], f"milestones[{i}].dueDate") if m.get("dueDate") else None,
        )
        for i, m in enumerate(
            _object(x, "milestones[]") for x in _list(won.get("milestones"), "milestones")
        )
    ]
    terms = won.get("paymentTermsDays")
    if terms is not None and (isinstance(terms, bool) or not isinstance(terms, int)):
        raise Unmappable("INVALID_FIELD", "paymentTermsDays must be a whole number of days")
    return OpportunityWon(
        opportunity_id=text(won.get("opportunityId"), "opportunityId"),
        account=Account(
            external_id=text(account.get("externalId"), "account.externalId"),
            name=text(account.get("name"), "account.name"),
            country=country_code(account.get("country"), "account.country"),
            domain=text(account.get("domain"), "account.domain", required=False),
            tax_id=text(account.get("taxId"), "account.taxId", required=False),
        ),
        name=text(won.get("name"), "name"),
        legal_entity=text(won.get("legalEntity"), "legalEntity").upper(),
        currency=currency,
        billing_model=billing_model(won.get("billingModel"), "billingModel"),
        contract_value=amount(won["contractValue"], currency, "contractValue")
        if won.get("contractValue") is not None
        else None,
        budget_hours=quantity(won["budgetHours"], "budgetHours")
        if won.get("budgetHours") is not None
        else None,
        start_date=day(won.get("startDate"), "startDate"),
        end_date=day(won.get("endDate"), "endDate"),
        rate_card=rate_card(won.get("rateCard"), "rateCard"),
        milestones=milestones,
        payment_terms_days=terms,
        expense_markup_percent=quantity(won["expenseMarkupPercent"], "expenseMarkupPercent")
        if won.get("expenseMarkupPercent") is not None
        else None,
    )
