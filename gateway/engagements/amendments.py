"""amendEngagement (DESIGN.md §9): finance or an admin changes an engagement's terms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from gateway.common import date_input
from gateway.context import Info
from gateway.engagements.inputs import MilestoneInput, RateCardLineInput
from gateway.engagements.versions import EngagementAmendment
from gateway.engagements.view import Engagement
from gateway.errors import call
from gateway.numbers import money_input, optional_quantity, quantity
from gateway.scope import engagements_in_scope
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.input(description="What changes; a field left out keeps its value.")
class AmendEngagementInput:
    effective_date: dt.date = strawberry.field(
        description="Within the engagement's start and end dates; time dated on or after it is "
        "rated with a new rateCard."
    )
    reason: str
    contract_value: Decimal | None = None
    budget_hours: Decimal | None = None
    end_date: dt.date | None = None
    rate_card: list[RateCardLineInput] | None = strawberry.field(
        default=None, description="The whole new card (approved time keeps its rates)."
    )
    milestones: list[MilestoneInput] | None = strawberry.field(
        default=None,
        description="The whole plan of not-yet-completed milestones: a name that is unchanged "
        "keeps its id, COMPLETED milestones never change, PLANNED ones left out are removed.",
    )


@strawberry.type
class AmendEngagementPayload:
    engagement: Engagement
    amendment: EngagementAmendment
    warnings: list[str] = strawberry.field(
        description="What was allowed but should be known, e.g. a FIXED_FEE budget below the "
        "approved hours (percent complete stays at 100 %)."
    )


def amend_request(
    id: str, i: AmendEngagementInput, currency: str, actor: str, key: str
) -> pb.AmendEngagementRequest:
    def amount(value: Decimal, field: str) -> object:
        return money_input(value, currency, f"input.{field}", currency_field="input.currency")

    request = pb.AmendEngagementRequest(
        id=id,
        effective_date=date_input(i.effective_date),
        reason=i.reason,
        budget_hours=optional_quantity(i.budget_hours, "input.budgetHours"),
        end_date=date_input(i.end_date),
        rate_card=[
            pb.RateCardLine(
                role=r.role,
                bill_rate=quantity(r.bill_rate, f"input.rateCard[{n}].billRate"),
                cost_rate=quantity(r.cost_rate, f"input.rateCard[{n}].costRate"),
            )
            for n, r in enumerate(i.rate_card or [])
        ],
        actor=actor,
        idempotency_key=key,
    )
    if i.contract_value is not None:
        request.contract_value.CopyFrom(amount(i.contract_value, "contractValue"))
    if i.milestones is not None:
        request.milestones.SetInParent()  # an empty plan is a plan: it removes PLANNED ones
        request.milestones.milestones.extend(
            pb.MilestoneInput(
                name=m.name,
                amount=amount(m.amount, f"milestones[{n}].amount"),
                due_date=date_input(m.due_date),
            )
            for n, m in enumerate(i.milestones)
        )
    return request


@strawberry.type
class AmendmentMutations:
    @strawberry.mutation(
        description="A new version of the engagement's terms from effectiveDate (finance, "
        "admin): contract value, budget, end date, rate card, milestone plan. FIXED_FEE "
        "revenue catches up cumulatively on its next posting. A COMPLETED engagement is "
        "CONFLICT; a repeated idempotencyKey answers the first result."
    )
    async def amend_engagement(
        self,
        info: Info,
        id: strawberry.ID,
        input: AmendEngagementInput,
        idempotency_key: str | None = None,
    ) -> AmendEngagementPayload:
        [engagement] = await engagements_in_scope(info.context, "amendEngagement", [str(id)])
        request = amend_request(
            str(id),
            input,
            engagement.currency,
            info.context.principal.subject,
            idempotency_key or "",
        )
        answer = await call("project", info.context.clients.project.AmendEngagement(request))
        return AmendEngagementPayload(
            engagement=Engagement.from_proto(answer.engagement),
            amendment=EngagementAmendment.from_proto(answer.amendment, engagement.currency),
            warnings=list(answer.warnings),
        )
