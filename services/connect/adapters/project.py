"""ProjectService.CreateEngagementFromOpportunity as receipts need it: project's refusals are
the receipt's exception reason; an outage (or a deadline) is Transient and retried later."""

from __future__ import annotations

import grpc

from mesh.grpc.convert import date_to_proto, money_to_proto
from mesh.grpc.errors import field_violations
from mesh.money import Money
from services.connect.domain.opportunity import OpportunityWon, Unmappable
from services.connect.handlers.ports import CreatedEngagement, Transient
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

_REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT: "REFUSED",
    grpc.StatusCode.FAILED_PRECONDITION: "REFUSED",
    grpc.StatusCode.ALREADY_EXISTS: "REFUSED",
    grpc.StatusCode.OUT_OF_RANGE: "REFUSED",
    grpc.StatusCode.NOT_FOUND: "REFUSED",
    grpc.StatusCode.PERMISSION_DENIED: "REFUSED",
}


def opportunity_request(
    system: str, won: OpportunityWon
) -> pb.CreateEngagementFromOpportunityRequest:
    c = won.currency
    request = pb.CreateEngagementFromOpportunityRequest(
        source=system,
        opportunity_id=won.opportunity_id,
        account=pb.OpportunityAccount(
            external_id=won.account.external_id,
            name=won.account.name,
            domain=won.account.domain,
            tax_id=won.account.tax_id,
            country=won.account.country,
        ),
        name=won.name,
        legal_entity=won.legal_entity,
        currency=c,
        billing_model=pb.BillingModel.Value(f"BILLING_MODEL_{won.billing_model}"),
        budget_hours=str(won.budget_hours) if won.budget_hours is not None else "",
        start_date=date_to_proto(won.start_date),
        end_date=date_to_proto(won.end_date),
        rate_card=[
            pb.RateCardLine(role=r.role, bill_rate=str(r.bill_rate), cost_rate=str(r.cost_rate))
            for r in won.rate_card
        ],
        milestones=[
            pb.MilestoneInput(
                name=m.name,
                amount=money_to_proto(Money(m.amount, c)),
                due_date=date_to_proto(m.due_date) if m.due_date else None,
            )
            for m in won.milestones
        ],
        expense_markup_percent=str(won.expense_markup_percent or ""),
    )
    if won.contract_value is not None:
        request.contract_value.CopyFrom(money_to_proto(Money(won.contract_value, c)))
    if won.payment_terms_days is not None:
        request.payment_terms_days = won.payment_terms_days
    return request


class ProjectEngagements:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = pb_grpc.ProjectServiceStub(channel)

    async def create(self, system: str, won: OpportunityWon) -> CreatedEngagement:
        try:
            answer = await self.stub.CreateEngagementFromOpportunity(
                opportunity_request(system, won)
            )
        except grpc.aio.AioRpcError as error:
            code = _REFUSALS.get(error.code())
            if code is None:
                raise Transient(f"project answered {error.code().name}") from None
            violations = "; ".join(f"{v.field}: {v.description}" for v in field_violations(error))
            raise Unmappable(code, violations or error.details() or error.code().name) from None
        return CreatedEngagement(
            engagement_id=answer.engagement.id,
            customer_matched_by=customer_pb.MatchRule.Name(answer.customer_matched_by).removeprefix(
                "MATCH_RULE_"
            ),
            created=answer.created,
        )
