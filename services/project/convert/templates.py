"""Engagement templates: requests -> drafts, templates -> protobuf."""

from __future__ import annotations

from mesh.grpc.convert import timestamp_to_proto
from services.project.convert.requests import billing_model
from services.project.convert.responses import BILLING_MODELS
from services.project.domain.opportunity import RateCardDraft
from services.project.domain.templates import EngagementTemplate, MilestoneShareDraft, TemplateDraft
from services.project.domain.values import decimal_text
from weftwork.project.v1 import project_service_pb2 as pb


def template_draft(request: pb.UpsertEngagementTemplateRequest) -> TemplateDraft:
    t = request.template
    return TemplateDraft(
        code=t.code,
        name=t.name,
        billing_model=billing_model(t.billing_model),
        rate_card=[RateCardDraft(r.role, r.bill_rate, r.cost_rate) for r in t.rate_card],
        milestone_plan=[
            MilestoneShareDraft(m.name, m.percent, m.due_days_after_start) for m in t.milestone_plan
        ],
        payment_terms_days=t.payment_terms_days,
        expense_markup_percent=t.expense_markup_percent,
    )


def template_to_proto(t: EngagementTemplate) -> pb.EngagementTemplate:
    return pb.EngagementTemplate(
        code=t.code,
        name=t.name,
        billing_model=BILLING_MODELS[t.billing_model],
        rate_card=[
            pb.RateCardLine(
                role=x.role,
                bill_rate=decimal_text(x.bill_rate),
                cost_rate=decimal_text(x.cost_rate),
            )
            for x in t.rate_card
        ],
        milestone_plan=[
            pb.MilestoneShare(
                name=m.name,
                percent=decimal_text(m.percent),
                due_days_after_start=m.due_days_after_start,
            )
            for m in t.milestone_plan
        ],
        payment_terms_days=t.payment_terms_days,
        expense_markup_percent=decimal_text(t.expense_markup_percent),
        update_time=timestamp_to_proto(t.updated_at),
    )
