"""Domain events of the project service -> the protobuf messages of the PROJECT stream."""

from __future__ import annotations

from google.protobuf.message import Message

from mesh.events.outbox import OutgoingEvent
from mesh.grpc.convert import date_to_proto, money_to_proto
from services.project.convert.responses import (
    BILLING_MODELS,
    amendment_to_proto,
    engagement_to_proto,
)
from services.project.domain.amendments import EngagementAmended
from services.project.domain.corrections import TimeAdjusted
from services.project.domain.events import ProjectEvent
from services.project.domain.expenses import ExpenseApproved
from services.project.domain.model import (
    EngagementActivated,
    EngagementCompleted,
)
from services.project.domain.purchase_orders import PurchaseOrderNumberSet
from services.project.domain.time import TimeApproved, TimeEntry
from services.project.domain.values import decimal_text
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import events_pb2

ACTIVATED = "weftwork.project.engagement.activated.v1"
COMPLETED = "weftwork.project.engagement.completed.v1"
MILESTONE_COMPLETED = "weftwork.project.milestone.completed.v1"
TIME_APPROVED = "weftwork.project.time_entry.approved.v1"
EXPENSE_APPROVED = "weftwork.project.expense.approved.v1"
TIME_ADJUSTED = "weftwork.project.time_entry.adjusted.v1"
AMENDED = "weftwork.project.engagement.amended.v1"
PURCHASE_ORDER_SET = "weftwork.project.engagement.purchase_order_set.v1"


def _rated(e: TimeEntry) -> events_pb2.RatedTimeEntry:
    assert e.rating is not None, "approved entries are rated"
    return events_pb2.RatedTimeEntry(
        time_entry_id=str(e.id),
        person_id=e.person_id,
        role=e.role,
        date=date_to_proto(e.date),
        hours=decimal_text(e.hours),
        bill_rate=decimal_text(e.rating.bill_rate),
        cost_rate=decimal_text(e.rating.cost_rate),
        bill_amount=money_to_proto(e.rating.bill_amount),
        cost_amount=money_to_proto(e.rating.cost_amount),
        billable=e.billable,
        description=e.description,
    )


def _time_adjusted(event: TimeAdjusted) -> events_pb2.TimeEntryAdjusted:
    return events_pb2.TimeEntryAdjusted(
        engagement_id=str(event.engagement_id),
        version=event.version,
        billing_model=BILLING_MODELS[event.billing_model],
        original_time_entry_id=str(event.original.id),
        reversal=_rated(event.reversal),
        replacement=_rated(event.replacement),
        reason=event.reason,
        approved_hours=decimal_text(event.approved_hours),
        budget_hours=decimal_text(event.budget_hours),
    )


def _time_approved(event: TimeApproved) -> events_pb2.TimeEntriesApproved:
    return events_pb2.TimeEntriesApproved(
        engagement_id=str(event.engagement_id),
        version=event.version,
        billing_model=BILLING_MODELS[event.billing_model],
        entries=[_rated(e) for e in event.entries],
        approved_hours=decimal_text(event.approved_hours),
        budget_hours=decimal_text(event.budget_hours),
    )


def _expense_approved(event: ExpenseApproved) -> events_pb2.ExpenseApproved:
    x = event.expense
    assert x.markup_percent is not None and x.billable_amount is not None, "approved expenses"
    return events_pb2.ExpenseApproved(
        engagement_id=str(event.engagement_id),
        version=event.version,
        expense_id=str(x.id),
        person_id=x.person_id,
        date=date_to_proto(x.date),
        category=x.category,
        description=x.description,
        amount=money_to_proto(x.amount),
        markup_percent=decimal_text(x.markup_percent),
        billable=x.billable,
        billable_amount=money_to_proto(x.billable_amount),
    )


def to_outgoing(event: ProjectEvent) -> OutgoingEvent:
    """The event as an outbox row: subject, the engagement (aggregate), its version, payload."""
    if isinstance(event, TimeApproved):
        return OutgoingEvent(
            TIME_APPROVED, str(event.engagement_id), event.version, _time_approved(event)
        )
    if isinstance(event, EngagementAmended):
        e = event.engagement
        return OutgoingEvent(
            AMENDED,
            str(e.id),
            e.version,
            events_pb2.EngagementAmended(
                engagement_id=str(e.id),
                version=e.version,
                engagement=engagement_to_proto(e),
                amendment=amendment_to_proto(event.amendment),
            ),
        )
    if isinstance(event, TimeAdjusted):
        return OutgoingEvent(
            TIME_ADJUSTED, str(event.engagement_id), event.version, _time_adjusted(event)
        )
    if isinstance(event, ExpenseApproved):
        return OutgoingEvent(
            EXPENSE_APPROVED, str(event.engagement_id), event.version, _expense_approved(event)
        )
    e = event.engagement
    if isinstance(event, PurchaseOrderNumberSet):
        message: Message = events_pb2.PurchaseOrderNumberSet(
            engagement_id=str(e.id),
            version=e.version,
            purchase_order_number=e.purchase_order_number,
        )
        return OutgoingEvent(PURCHASE_ORDER_SET, str(e.id), e.version, message)
    if isinstance(event, EngagementActivated):
        c = event.customer
        message = events_pb2.EngagementActivated(
            engagement_id=str(e.id),
            version=e.version,
            engagement=engagement_to_proto(e),
            customer=events_pb2.CustomerSnapshot(
                customer_id=str(c.customer_id),
                name=c.name,
                country=c.country,
                tax_id=c.tax_id,
                billing_contact=customer_pb.BillingContact(
                    name=c.contact.name, email=c.contact.email
                )
                if c.contact
                else None,
                billing_address=customer_pb.PostalAddress(
                    lines=c.address.lines,
                    city=c.address.city,
                    postcode=c.address.postcode,
                    country=c.address.country,
                )
                if c.address
                else None,
            ),
        )
        subject = ACTIVATED
    elif isinstance(event, EngagementCompleted):
        assert e.completed_on is not None
        message = events_pb2.EngagementCompleted(
            engagement_id=str(e.id),
            version=e.version,
            completed_on=date_to_proto(e.completed_on),
            approved_hours=decimal_text(e.approved_hours),
        )
        subject = COMPLETED
    else:
        m = event.milestone
        assert m.completed_on is not None
        message = events_pb2.MilestoneCompleted(
            engagement_id=str(e.id),
            version=e.version,
            milestone_id=str(m.id),
            name=m.name,
            amount=money_to_proto(m.amount),
            completed_on=date_to_proto(m.completed_on),
            billing_model=BILLING_MODELS[e.billing_model],
        )
        subject = MILESTONE_COMPLETED
    return OutgoingEvent(subject, str(e.id), e.version, message)
