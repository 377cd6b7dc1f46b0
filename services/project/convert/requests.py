"""Requests -> the domain's drafts and values. Malformed numbers are refused here, naming their
field (DESIGN.md §6); the domain then reports every other mistake of a request at once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from google.type import date_pb2

from mesh import requests
from mesh.errors import InvalidArgument, Violations
from mesh.money import Money
from mesh.requests import parse_id
from services.project.domain.expenses import ExpenseDraft
from services.project.domain.model import BillingContact, BillingModel, PostalAddress
from services.project.domain.opportunity import (
    Account,
    MilestoneDraft,
    OpportunityWonDraft,
    RateCardDraft,
)
from services.project.domain.timesheet import TimeEntryDraft
from services.project.domain.values import MAX_ID, check_decimal, check_text
from weftwork.project.v1 import project_service_pb2 as pb

_MODELS = {
    pb.BILLING_MODEL_TIME_AND_MATERIALS: BillingModel.TIME_AND_MATERIALS,
    pb.BILLING_MODEL_FIXED_FEE: BillingModel.FIXED_FEE,
    pb.BILLING_MODEL_MILESTONE: BillingModel.MILESTONE,
}


E = TypeVar("E")


def billing_model(value: pb.BillingModel.ValueType) -> BillingModel | None:
    """None when unspecified or unknown (the domain reports it as required)."""
    return _MODELS.get(value)


def status_filter(value: int, mapping: Mapping[E, int], field: str) -> E | None:
    """A status filter: unspecified matches all; an unknown number is a mistake."""
    if value == 0:
        return None
    for domain, wire in mapping.items():
        if wire == value:
            return domain
    raise InvalidArgument.one(field, f"{value} is not a known value")


def date_or_none(message: Any, field: str) -> dt.date | None:
    """The date, or None when it is unset or impossible (the domain reports it, once)."""
    if not message.HasField(field):
        return None
    value: date_pb2.Date = getattr(message, field)
    try:
        return dt.date(value.year, value.month, value.day)
    except ValueError:
        return None


def required_date(message: Any, field: str) -> dt.date:
    return requests.parse_date(getattr(message, field), field)


def money_or_none(message: Any, field: str, errors: Violations, at: str = "") -> Money | None:
    """The amount exactly as sent, None when unset; malformed (nanos, over 15 digits) it is
    noted in errors. The domain checks its currency and minor unit."""
    if not message.HasField(field):
        return None
    return requests.money(getattr(message, field), at + field, errors)


def opportunity_won(request: pb.CreateEngagementFromOpportunityRequest) -> OpportunityWonDraft:
    a, errors = request.account, Violations()
    draft = OpportunityWonDraft(
        source=request.source,
        opportunity_id=request.opportunity_id,
        account=Account(
            a.external_id,
            a.name,
            a.domain,
            a.tax_id,
            a.country,
            billing_contact=(
                BillingContact(a.billing_contact.name, a.billing_contact.email)
                if a.HasField("billing_contact")
                else None
            ),
            billing_address=(
                PostalAddress(
                    tuple(a.billing_address.lines),
                    a.billing_address.city,
                    a.billing_address.postcode,
                    a.billing_address.country,
                )
                if a.HasField("billing_address")
                else None
            ),
        ),
        name=request.name,
        legal_entity=request.legal_entity,
        currency=request.currency,
        billing_model=_MODELS.get(request.billing_model),
        contract_value=money_or_none(request, "contract_value", errors),
        budget_hours=request.budget_hours,
        start_date=date_or_none(request, "start_date"),
        end_date=date_or_none(request, "end_date"),
        rate_card=[RateCardDraft(r.role, r.bill_rate, r.cost_rate) for r in request.rate_card],
        milestones=[
            MilestoneDraft(
                m.name,
                money_or_none(m, "amount", errors, f"milestones[{i}]."),
                date_or_none(m, "due_date"),
            )
            for i, m in enumerate(request.milestones)
        ],
        payment_terms_days=(
            request.payment_terms_days if request.HasField("payment_terms_days") else None
        ),
        expense_markup_percent=request.expense_markup_percent,
        purchase_order_number=request.purchase_order_number,
    )
    errors.raise_if_any()
    return draft


def time_entries(request: pb.SubmitTimeRequest) -> list[TimeEntryDraft]:
    return [
        TimeEntryDraft(
            engagement_id=e.engagement_id,
            person_id=e.person_id,
            role=e.role,
            date=date_or_none(e, "date"),
            hours=e.hours,
            billable=e.billable if e.HasField("billable") else True,
            description=e.description,
            external_id=e.external_id,
        )
        for e in request.entries
    ]


def expense(request: pb.SubmitExpenseRequest) -> ExpenseDraft:
    errors = Violations()
    draft = ExpenseDraft(
        engagement_id=parse_id(request.engagement_id, "engagement_id"),
        person_id=request.person_id,
        date=date_or_none(request, "date"),
        amount=money_or_none(request, "amount", errors),
        category=request.category,
        billable=request.billable,
        description=request.description,
        external_id=request.external_id,
    )
    errors.raise_if_any()
    return draft


def assignment(request: pb.AssignResourceRequest) -> tuple[uuid.UUID, str, str, Decimal]:
    engagement_id = parse_id(request.engagement_id, "engagement_id")
    errors = Violations()
    person_id = check_text(request.person_id, "person_id", errors, max_length=MAX_ID)
    role = check_text(request.role, "role", errors, max_length=100)
    planned = check_decimal(
        request.planned_hours,
        "planned_hours",
        errors,
        low=Decimal(0),
        high=Decimal(100_000),
        places=2,
        default=Decimal(0),
    )
    errors.raise_if_any()
    assert planned is not None
    return engagement_id, person_id, role, planned
