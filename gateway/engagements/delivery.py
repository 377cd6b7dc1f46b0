"""Delivery records and approves: people, time entries and expenses (DESIGN.md §4)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from gateway.common import date_input
from gateway.context import Info
from gateway.engagements.inputs import ExpenseInput, PersonInput, TimeEntryInput, time_entry_request
from gateway.engagements.types import Expense
from gateway.engagements.view import TimeEntry
from gateway.errors import call
from gateway.numbers import money_input, optional_quantity
from gateway.scope import engagements_in_scope, require_visible
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class Person:
    id: strawberry.ID
    name: str
    home_entity: str
    weekly_capacity_hours: Decimal


async def _entries_in_scope(info: Info, operation: str, ids: list[strawberry.ID]) -> None:
    info.context.principal.require(operation)
    entries = await info.context.loaders.time_entries.load_many([str(i) for i in ids])
    owners = {e.id: e.engagement_id for e in entries if e is not None}
    await require_visible(info.context, "time entry", owners, ids)


@strawberry.type
class DeliveryMutations:
    @strawberry.mutation(description="Register or update a person who records time (delivery).")
    async def upsert_person(self, info: Info, input: PersonInput) -> Person:
        info.context.principal.require("upsertPerson", input.home_entity)
        capacity = optional_quantity(input.weekly_capacity_hours, "input.weeklyCapacityHours")
        answer = await call(
            "project",
            info.context.clients.project.UpsertPerson(
                pb.UpsertPersonRequest(
                    person=pb.Person(
                        id=str(input.id),
                        name=input.name,
                        home_entity=input.home_entity,
                        weekly_capacity_hours=capacity,
                    )
                )
            ),
        )
        p = answer.person
        return Person(
            id=strawberry.ID(p.id),
            name=p.name,
            home_entity=p.home_entity,
            weekly_capacity_hours=Decimal(p.weekly_capacity_hours or "40"),
        )

    @strawberry.mutation
    async def submit_time(self, info: Info, entries: list[TimeEntryInput]) -> list[TimeEntry]:
        requests = [time_entry_request(e, n) for n, e in enumerate(entries)]
        await engagements_in_scope(info.context, "submitTime", [r.engagement_id for r in requests])
        answer = await call(
            "project",
            info.context.clients.project.SubmitTime(pb.SubmitTimeRequest(entries=requests)),
        )
        return [TimeEntry.from_proto(t) for t in answer.time_entries]

    @strawberry.mutation
    async def approve_time(self, info: Info, ids: list[strawberry.ID]) -> list[TimeEntry]:
        await _entries_in_scope(info, "approveTime", ids)
        answer = await call(
            "project",
            info.context.clients.project.ApproveTime(
                pb.ApproveTimeRequest(ids=[str(i) for i in ids])
            ),
        )
        return [TimeEntry.from_proto(t) for t in answer.time_entries]

    @strawberry.mutation
    async def reject_time(
        self, info: Info, ids: list[strawberry.ID], reason: str
    ) -> list[TimeEntry]:
        await _entries_in_scope(info, "rejectTime", ids)
        answer = await call(
            "project",
            info.context.clients.project.RejectTime(
                pb.RejectTimeRequest(ids=[str(i) for i in ids], reason=reason)
            ),
        )
        return [TimeEntry.from_proto(t) for t in answer.time_entries]

    @strawberry.mutation
    async def submit_expense(self, info: Info, input: ExpenseInput) -> Expense:
        [engagement] = await engagements_in_scope(
            info.context, "submitExpense", [str(input.engagement_id)]
        )
        answer = await call(
            "project",
            info.context.clients.project.SubmitExpense(
                pb.SubmitExpenseRequest(
                    engagement_id=str(input.engagement_id),
                    person_id=input.person_id,
                    date=date_input(input.date),
                    amount=money_input(input.amount, engagement.currency, "input.amount"),
                    category=input.category,
                    billable=input.billable,
                    description=input.description,
                    external_id=input.external_id or "",
                )
            ),
        )
        return Expense.from_proto(answer.expense)

    @strawberry.mutation
    async def approve_expenses(self, info: Info, ids: list[strawberry.ID]) -> list[Expense]:
        info.context.principal.require("approveExpenses")
        found = await call(
            "project",
            info.context.clients.project.BatchGetExpenses(
                pb.BatchGetExpensesRequest(ids=[str(i) for i in ids])
            ),
        )
        owners = {e.id: e.engagement_id for e in found.expenses}
        await require_visible(info.context, "expense", owners, ids)
        answer = await call(
            "project",
            info.context.clients.project.ApproveExpenses(
                pb.ApproveExpensesRequest(ids=[str(i) for i in ids])
            ),
        )
        return [Expense.from_proto(e) for e in answer.expenses]
