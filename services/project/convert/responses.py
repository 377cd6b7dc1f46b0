"""Project aggregates -> protobuf messages of the contract (service responses and events)."""

from __future__ import annotations

from mesh.grpc.convert import date_to_proto, money_to_proto, timestamp_to_proto
from services.project.domain.expenses import Expense, ExpenseStatus
from services.project.domain.model import (
    BillingModel,
    Engagement,
    EngagementStatus,
    Milestone,
    MilestoneStatus,
)
from services.project.domain.people import Person, Utilization
from services.project.domain.time import TimeEntry, TimeEntryStatus
from services.project.domain.values import decimal_text
from services.project.domain.versions import TermsVersion
from weftwork.project.v1 import project_service_pb2 as pb

BILLING_MODELS = {
    BillingModel.TIME_AND_MATERIALS: pb.BILLING_MODEL_TIME_AND_MATERIALS,
    BillingModel.FIXED_FEE: pb.BILLING_MODEL_FIXED_FEE,
    BillingModel.MILESTONE: pb.BILLING_MODEL_MILESTONE,
}
ENGAGEMENT_STATUSES = {
    EngagementStatus.ACTIVE: pb.ENGAGEMENT_STATUS_ACTIVE,
    EngagementStatus.COMPLETED: pb.ENGAGEMENT_STATUS_COMPLETED,
    EngagementStatus.PENDING_APPROVAL: pb.ENGAGEMENT_STATUS_PENDING_APPROVAL,
}
MILESTONE_STATUSES = {
    MilestoneStatus.PLANNED: pb.MILESTONE_STATUS_PLANNED,
    MilestoneStatus.COMPLETED: pb.MILESTONE_STATUS_COMPLETED,
}
TIME_STATUSES = {
    TimeEntryStatus.SUBMITTED: pb.TIME_ENTRY_STATUS_SUBMITTED,
    TimeEntryStatus.APPROVED: pb.TIME_ENTRY_STATUS_APPROVED,
    TimeEntryStatus.REJECTED: pb.TIME_ENTRY_STATUS_REJECTED,
}
EXPENSE_STATUSES = {
    ExpenseStatus.SUBMITTED: pb.EXPENSE_STATUS_SUBMITTED,
    ExpenseStatus.APPROVED: pb.EXPENSE_STATUS_APPROVED,
    ExpenseStatus.REJECTED: pb.EXPENSE_STATUS_REJECTED,
}


def milestone_to_proto(m: Milestone) -> pb.Milestone:
    return pb.Milestone(
        id=str(m.id),
        engagement_id=str(m.engagement_id),
        name=m.name,
        amount=money_to_proto(m.amount),
        due_date=date_to_proto(m.due_date),
        status=MILESTONE_STATUSES[m.status],
        completed_on=date_to_proto(m.completed_on) if m.completed_on else None,
    )


def amendment_to_proto(t: TermsVersion) -> pb.EngagementAmendment:
    return pb.EngagementAmendment(
        version=t.version,
        effective_date=date_to_proto(t.effective_date),
        reason=t.reason,
        actor=t.actor,
        contract_value=money_to_proto(t.contract_value),
        budget_hours=decimal_text(t.budget_hours),
        end_date=date_to_proto(t.end_date),
        rate_card_version=t.rate_card_version,
        milestones=[milestone_to_proto(m) for m in t.milestones],
        create_time=timestamp_to_proto(t.created_at),
    )


def engagement_to_proto(e: Engagement) -> pb.Engagement:
    return pb.Engagement(
        id=str(e.id),
        code=e.code,
        name=e.name,
        status=ENGAGEMENT_STATUSES[e.status],
        legal_entity=e.legal_entity,
        currency=e.currency,
        billing_model=BILLING_MODELS[e.billing_model],
        opportunity=pb.Opportunity(
            system=e.opportunity.system, external_id=e.opportunity.external_id
        ),
        customer_id=str(e.customer_id),
        contract_value=money_to_proto(e.contract_value),
        start_date=date_to_proto(e.start_date),
        end_date=date_to_proto(e.end_date),
        budget_hours=decimal_text(e.budget_hours),
        approved_hours=decimal_text(e.approved_hours),
        rate_card=[
            pb.RateCardLine(
                role=line.role,
                bill_rate=decimal_text(line.bill_rate),
                cost_rate=decimal_text(line.cost_rate),
            )
            for line in e.rate_card
        ],
        milestones=[milestone_to_proto(m) for m in e.milestones],
        payment_terms_days=e.payment_terms_days,
        expense_markup_percent=decimal_text(e.expense_markup_percent),
        assignments=[
            pb.Assignment(
                person_id=a.person_id,
                role=a.role,
                assign_time=timestamp_to_proto(a.assigned_at),
                planned_hours=decimal_text(a.planned_hours),
            )
            for a in e.assignments
        ],
        completed_on=date_to_proto(e.completed_on) if e.completed_on else None,
        version=e.version,
        create_time=timestamp_to_proto(e.created_at),
        update_time=timestamp_to_proto(e.updated_at),
        terms_version=e.terms_version,
        rate_card_version=e.rate_card_version,
        amendments=[amendment_to_proto(t) for t in e.amendments],
        purchase_order_number=e.purchase_order_number,
    )


def time_entry_to_proto(t: TimeEntry) -> pb.TimeEntry:
    message = pb.TimeEntry(
        id=str(t.id),
        engagement_id=str(t.engagement_id),
        person_id=t.person_id,
        role=t.role,
        date=date_to_proto(t.date),
        hours=decimal_text(t.hours),
        billable=t.billable,
        status=TIME_STATUSES[t.status],
        description=t.description,
        external_id=t.external_id or "",
        rejection_reason=t.rejection_reason or "",
        submit_time=timestamp_to_proto(t.submitted_at),
    )
    if t.rating is not None:
        message.bill_rate = decimal_text(t.rating.bill_rate)
        message.cost_rate = decimal_text(t.rating.cost_rate)
        message.bill_amount.CopyFrom(money_to_proto(t.rating.bill_amount))
        message.cost_amount.CopyFrom(money_to_proto(t.rating.cost_amount))
    if t.decided_at is not None:
        message.decide_time.CopyFrom(timestamp_to_proto(t.decided_at))
    if t.corrects is not None:
        message.corrects_time_entry_id = str(t.corrects)
        message.correction_reason = t.correction_reason or ""
    return message


def expense_to_proto(x: Expense) -> pb.Expense:
    message = pb.Expense(
        id=str(x.id),
        engagement_id=str(x.engagement_id),
        person_id=x.person_id,
        date=date_to_proto(x.date),
        amount=money_to_proto(x.amount),
        category=x.category,
        billable=x.billable,
        status=EXPENSE_STATUSES[x.status],
        description=x.description,
        external_id=x.external_id or "",
        submit_time=timestamp_to_proto(x.submitted_at),
    )
    if x.markup_percent is not None and x.billable_amount is not None:
        message.markup_percent = decimal_text(x.markup_percent)
        message.billable_amount.CopyFrom(money_to_proto(x.billable_amount))
    if x.approved_at is not None:
        message.approve_time.CopyFrom(timestamp_to_proto(x.approved_at))
    if x.rejection_reason is not None and x.rejected_at is not None:
        message.rejection_reason = x.rejection_reason
        message.reject_time.CopyFrom(timestamp_to_proto(x.rejected_at))
    return message


def person_to_proto(p: Person) -> pb.Person:
    return pb.Person(
        id=p.id,
        name=p.name,
        home_entity=p.home_entity,
        weekly_capacity_hours=decimal_text(p.weekly_capacity_hours),
        version=p.version,
    )


def utilization_to_proto(u: Utilization) -> pb.PersonUtilization:
    return pb.PersonUtilization(
        person_id=u.person.id,
        name=u.person.name,
        home_entity=u.person.home_entity,
        capacity_hours=decimal_text(u.capacity_hours),
        approved_hours=decimal_text(u.approved_hours),
        billable_hours=decimal_text(u.billable_hours),
        submitted_hours=decimal_text(u.submitted_hours),
        utilization_percent=decimal_text(u.percent),
    )
