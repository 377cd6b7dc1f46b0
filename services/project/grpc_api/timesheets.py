"""Time entries and expenses over gRPC: request -> use case -> response."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from mesh.idempotency import once
from mesh.paging import decode_token, encode_token
from mesh.requests import parse_id, parse_ids
from services.project.convert import requests
from services.project.convert.responses import (
    EXPENSE_STATUSES,
    TIME_STATUSES,
    expense_to_proto,
    time_entry_to_proto,
)
from services.project.domain.values import MAX_BATCH
from services.project.handlers import ProjectRepository, Transact, timesheets
from weftwork.project.v1 import project_service_pb2 as pb


class TimesheetApi:
    transact: Transact
    read: Transact  # no transaction: at READ COMMITTED it would add nothing

    async def SubmitTime(
        self, request: pb.SubmitTimeRequest, context: Any
    ) -> pb.SubmitTimeResponse:
        drafts = requests.time_entries(request)

        async def work(r: ProjectRepository) -> pb.SubmitTimeResponse:
            entries = await timesheets.submit_time(r, drafts)
            return pb.SubmitTimeResponse(time_entries=[time_entry_to_proto(e) for e in entries])

        return await once(self.transact, request, pb.SubmitTimeResponse, work)

    async def ApproveTime(
        self, request: pb.ApproveTimeRequest, context: Any
    ) -> pb.ApproveTimeResponse:
        ids = parse_ids(request.ids, "ids", limit=MAX_BATCH)

        async def work(r: ProjectRepository) -> pb.ApproveTimeResponse:
            entries = await timesheets.approve_time(r, ids)
            return pb.ApproveTimeResponse(time_entries=[time_entry_to_proto(e) for e in entries])

        return await once(self.transact, request, pb.ApproveTimeResponse, work)

    async def RejectTime(
        self, request: pb.RejectTimeRequest, context: Any
    ) -> pb.RejectTimeResponse:
        ids = parse_ids(request.ids, "ids", limit=MAX_BATCH)
        entries = await self.transact(lambda r: timesheets.reject_time(r, ids, request.reason))
        return pb.RejectTimeResponse(time_entries=[time_entry_to_proto(e) for e in entries])

    async def BatchGetTimeEntries(
        self, request: pb.BatchGetTimeEntriesRequest, context: Any
    ) -> pb.BatchGetTimeEntriesResponse:
        ids = parse_ids(request.ids, "ids")
        found = await self.read(lambda r: r.time_entries(ids))
        return pb.BatchGetTimeEntriesResponse(
            time_entries=[time_entry_to_proto(found[i]) for i in ids if i in found],
            missing_ids=[str(i) for i in ids if i not in found],
        )

    async def ListTimeEntries(
        self, request: pb.ListTimeEntriesRequest, context: Any
    ) -> pb.ListTimeEntriesResponse:
        engagement_id = parse_id(request.engagement_id, "engagement_id")
        status = requests.status_filter(request.status, TIME_STATUSES, "status")
        after = decode_token("time", request.page_token, (dt.date.fromisoformat, str, uuid.UUID))
        rows, cursor = await self.transact(
            lambda r: timesheets.list_time_entries(
                r, engagement_id, status, page_size=request.page_size, after=after
            )
        )
        return pb.ListTimeEntriesResponse(
            time_entries=[time_entry_to_proto(e) for e in rows],
            next_page_token=encode_token("time", cursor),
        )

    async def SubmitExpense(
        self, request: pb.SubmitExpenseRequest, context: Any
    ) -> pb.SubmitExpenseResponse:
        draft = requests.expense(request)

        async def work(r: ProjectRepository) -> pb.SubmitExpenseResponse:
            saved = await timesheets.submit_expense(r, draft)
            return pb.SubmitExpenseResponse(expense=expense_to_proto(saved))

        return await once(self.transact, request, pb.SubmitExpenseResponse, work)

    async def ApproveExpenses(
        self, request: pb.ApproveExpensesRequest, context: Any
    ) -> pb.ApproveExpensesResponse:
        ids = parse_ids(request.ids, "ids", limit=MAX_BATCH)

        async def work(r: ProjectRepository) -> pb.ApproveExpensesResponse:
            approved = await timesheets.approve_expenses(r, ids)
            return pb.ApproveExpensesResponse(expenses=[expense_to_proto(x) for x in approved])

        return await once(self.transact, request, pb.ApproveExpensesResponse, work)

    async def RejectExpenses(
        self, request: pb.RejectExpensesRequest, context: Any
    ) -> pb.RejectExpensesResponse:
        ids = parse_ids(request.ids, "ids", limit=MAX_BATCH)
        found = await self.transact(lambda r: timesheets.reject_expenses(r, ids, request.reason))
        return pb.RejectExpensesResponse(expenses=[expense_to_proto(x) for x in found])

    async def BatchGetExpenses(
        self, request: pb.BatchGetExpensesRequest, context: Any
    ) -> pb.BatchGetExpensesResponse:
        ids = parse_ids(request.ids, "ids")
        found = await self.read(lambda r: r.expenses(ids))
        return pb.BatchGetExpensesResponse(
            expenses=[expense_to_proto(found[i]) for i in ids if i in found],
            missing_ids=[str(i) for i in ids if i not in found],
        )

    async def ListExpenses(
        self, request: pb.ListExpensesRequest, context: Any
    ) -> pb.ListExpensesResponse:
        engagement_id = parse_id(request.engagement_id, "engagement_id")
        status = requests.status_filter(request.status, EXPENSE_STATUSES, "status")
        after = decode_token("expenses", request.page_token, (dt.date.fromisoformat, uuid.UUID))
        rows, cursor = await self.transact(
            lambda r: timesheets.list_expenses(
                r, engagement_id, status, page_size=request.page_size, after=after
            )
        )
        return pb.ListExpensesResponse(
            expenses=[expense_to_proto(x) for x in rows],
            next_page_token=encode_token("expenses", cursor),
        )
