"""AmendEngagement's request -> the domain's draft (None / empty: keep the term)."""

from __future__ import annotations

from mesh.errors import Violations
from services.project.convert.requests import date_or_none, money_or_none
from services.project.domain.amendments import AmendmentDraft
from services.project.domain.opportunity import MilestoneDraft, RateCardDraft
from weftwork.project.v1 import project_service_pb2 as pb


def amendment_draft(request: pb.AmendEngagementRequest) -> AmendmentDraft:
    errors = Violations()
    plan = None
    if request.HasField("milestones"):
        plan = tuple(
            MilestoneDraft(
                m.name,
                money_or_none(m, "amount", errors, f"milestones[{i}]."),
                date_or_none(m, "due_date"),
            )
            for i, m in enumerate(request.milestones.milestones)
        )
    draft = AmendmentDraft(
        effective_date=date_or_none(request, "effective_date"),
        reason=request.reason,
        actor=request.actor,
        contract_value=money_or_none(request, "contract_value", errors),
        budget_hours=request.budget_hours,
        end_date=date_or_none(request, "end_date"),
        rate_card=tuple(RateCardDraft(r.role, r.bill_rate, r.cost_rate) for r in request.rate_card),
        milestones=plan,
    )
    errors.raise_if_any()
    return draft
