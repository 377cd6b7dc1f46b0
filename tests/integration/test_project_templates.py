"""Engagement templates over real gRPC and PostgreSQL (DESIGN.md §9): kept whole by code, and
a close-won naming one gets what it left out, with milestone amounts that sum exactly."""

from __future__ import annotations

import uuid

import grpc

from tests.integration.test_project_grpc import (
    Running,
    as_decimal,
    counts,
    money,
    running,
    won,
)
from tests.support import rpc_error
from weftwork.project.v1 import project_service_pb2 as pb

__all__ = ["running"]  # the shared module fixture


def template(code: str, **overrides: object) -> pb.EngagementTemplate:
    fields: dict[str, object] = {
        "code": code,
        "name": "Milestones in thirds",
        "billing_model": pb.BILLING_MODEL_MILESTONE,
        "rate_card": [pb.RateCardLine(role="Senior", bill_rate="200", cost_rate="110")],
        "milestone_plan": [
            pb.MilestoneShare(name="Kick-off", percent="33.3333", due_days_after_start=0),
            pb.MilestoneShare(name="Design", percent="33.3333", due_days_after_start=28),
            pb.MilestoneShare(name="Go-live", percent="33.3334", due_days_after_start=56),
        ],
        "payment_terms_days": 14,
        "expense_markup_percent": "5",
    }
    fields.update(overrides)
    return pb.EngagementTemplate(**fields)  # type: ignore[arg-type]


async def upsert(r: Running, t: pb.EngagementTemplate) -> pb.EngagementTemplate:
    answer: pb.UpsertEngagementTemplateResponse = await r.project.UpsertEngagementTemplate(
        pb.UpsertEngagementTemplateRequest(template=t)
    )
    return answer.template


async def test_a_template_is_kept_whole_by_code_and_replaced_by_an_upsert(running: Running) -> None:
    r = running
    code = f"T-{uuid.uuid4().hex[:8].upper()}"
    first = await upsert(r, template(code))
    assert (first.code, first.payment_terms_days, first.expense_markup_percent) == (code, 14, "5")
    second = await upsert(r, template(code, name="Renamed", payment_terms_days=30))
    listed = await r.project.ListEngagementTemplates(pb.ListEngagementTemplatesRequest())
    [found] = [t for t in listed.templates if t.code == code]
    assert found == second
    assert (found.name, found.payment_terms_days) == ("Renamed", 30)
    assert [(m.name, m.percent) for m in found.milestone_plan] == [
        ("Kick-off", "33.3333"),
        ("Design", "33.3333"),
        ("Go-live", "33.3334"),
    ]


async def test_a_close_won_naming_a_template_gets_what_it_left_out(running: Running) -> None:
    r = running
    code = f"T-{uuid.uuid4().hex[:8].upper()}"
    await upsert(r, template(code))
    # GBP 1,000.00 in shares 33.3333 / 33.3333 / 33.3334 %: 333.333, 333.333, 333.334 ->
    # floors 333.33 x 3 = 999.99; the cent left goes to the largest remainder (Go-live).
    answer = await r.project.CreateEngagementFromOpportunity(
        won(
            template_code=code,
            billing_model=pb.BILLING_MODEL_UNSPECIFIED,
            rate_card=[],
            contract_value=money("1000.00"),
            expense_markup_percent="",
        )
    )
    e = answer.engagement
    assert e.billing_model == pb.BILLING_MODEL_MILESTONE
    assert [(x.role, x.bill_rate) for x in e.rate_card] == [("Senior", "200")]
    assert [(m.name, str(as_decimal(m.amount))) for m in e.milestones] == [
        ("Kick-off", "333.33"),
        ("Design", "333.33"),
        ("Go-live", "333.34"),
    ]
    # The request's own payment terms (45, from won()) win; its empty markup takes the 5 %.
    assert (e.payment_terms_days, e.expense_markup_percent) == (45, "5")


async def test_an_unknown_or_invalid_template_is_refused_writing_nothing(running: Running) -> None:
    r = running
    before = await counts(r.db)
    code, _, violations = await rpc_error(
        r.project.CreateEngagementFromOpportunity(won(template_code="NO-SUCH"))
    )
    assert (code, [v.field for v in violations]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["template_code"],
    )
    bad = template("T-BAD", milestone_plan=[pb.MilestoneShare(name="Half", percent="50")])
    code, message, violations = await rpc_error(
        r.project.UpsertEngagementTemplate(pb.UpsertEngagementTemplateRequest(template=bad))
    )
    assert (code, [v.field for v in violations]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["milestone_plan"],
    )
    assert "shares sum to 50" in message
    assert await counts(r.db) == before
    listed = await r.project.ListEngagementTemplates(pb.ListEngagementTemplatesRequest())
    assert "T-BAD" not in [t.code for t in listed.templates]
