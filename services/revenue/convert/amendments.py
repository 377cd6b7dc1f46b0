"""engagement.amended as revenue reads it: the contract value and budget now in force."""

from __future__ import annotations

from mesh import requests
from mesh.errors import Violations
from mesh.money import Money
from services.revenue.domain.facts import TermsAmended
from weftwork.project.v1 import events_pb2 as project


def amended(m: project.EngagementAmended) -> TermsAmended:
    errors, e = Violations(), m.engagement
    value = requests.money(e.contract_value, "engagement.contract_value", errors)
    budget = requests.quantity(e.budget_hours or "0", "engagement.budget_hours", errors)
    if m.amendment.version < 2:
        errors.add("amendment.version", "an amendment is terms version 2 or later")
    engagement_id = requests.parse_id(m.engagement_id, "engagement_id")
    effective = requests.parse_date(m.amendment.effective_date, "amendment.effective_date")
    errors.raise_if_any()
    assert value is not None and budget is not None
    return TermsAmended(
        engagement_id,
        m.amendment.version,
        effective,
        Money.of(value.amount, value.currency),
        budget,
    )
