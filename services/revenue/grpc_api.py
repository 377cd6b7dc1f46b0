"""Thin gRPC servicer: proto -> use case (in one transaction) -> proto."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from mesh.errors import InvalidArgument
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES, LegalEntitySetting
from mesh.paging import decode_token, encode_token
from mesh.requests import parse_date, parse_legal_entity
from services.revenue import handlers
from services.revenue.convert import responses as convert
from services.revenue.convert.requests import group_by, parse_id, parse_ids, parse_period
from services.revenue.domain.accounts import ChartOfAccounts
from services.revenue.domain.periods import Period
from services.revenue.handlers import JournalSelection, ReportQuery
from weftwork.revenue.v1 import revenue_service_pb2 as pb
from weftwork.revenue.v1 import revenue_service_pb2_grpc as pb_grpc


class RevenueServicer(pb_grpc.RevenueServiceServicer):
    def __init__(
        self,
        transact: handlers.Transact[Any],
        chart: ChartOfAccounts,
        read: handlers.Transact[Any],
        entities: Mapping[str, LegalEntitySetting] = DEFAULT_LEGAL_ENTITIES,
    ) -> None:
        self.transact = transact
        self.read = read  # no transaction: at READ COMMITTED it would add nothing
        self.chart = chart
        self.entities = entities  # WEFTWORK_LEGAL_ENTITIES: the export's account codes

    async def GetPosition(
        self, request: pb.GetPositionRequest, context: Any
    ) -> pb.GetPositionResponse:
        engagement_id = parse_id(request.engagement_id, "engagement_id")
        found = await self.read(lambda repo: handlers.get_position(repo, engagement_id))
        return pb.GetPositionResponse(position=convert.position_to_proto(found))

    async def BatchGetPositions(
        self, request: pb.BatchGetPositionsRequest, context: Any
    ) -> pb.BatchGetPositionsResponse:
        ids = parse_ids(list(request.engagement_ids), "engagement_ids")
        found, missing = await self.read(lambda repo: handlers.batch_get_positions(repo, ids))
        return pb.BatchGetPositionsResponse(
            positions=[convert.position_to_proto(p) for p in found],
            missing_engagement_ids=[str(i) for i in missing],
        )

    async def GetJournal(
        self, request: pb.GetJournalRequest, context: Any
    ) -> pb.GetJournalResponse:
        if request.engagement_id and (request.legal_entity or request.period):
            raise InvalidArgument.one(
                "engagement_id", "give an engagement, or a legal entity and period, not both"
            )
        if request.engagement_id:
            selection = JournalSelection(
                engagement_id=parse_id(request.engagement_id, "engagement_id")
            )
        else:
            selection = JournalSelection(
                legal_entity=parse_legal_entity(request.legal_entity, "legal_entity"),
                period=parse_period(request.period, "period"),
            )
        cursor = decode_token("journal", request.page_token, (int,))
        entries, last = await self.transact(
            lambda repo: handlers.journal(
                repo,
                selection,
                page_size=request.page_size,
                after=cursor[0] if cursor else None,
            )
        )
        return pb.GetJournalResponse(
            entries=[convert.entry_to_proto(e, self.chart) for e in entries],
            next_page_token=encode_token("journal", None if last is None else [last]),
        )

    async def GetTrialBalance(
        self, request: pb.GetTrialBalanceRequest, context: Any
    ) -> pb.GetTrialBalanceResponse:
        entity = parse_legal_entity(request.legal_entity, "legal_entity")
        as_of = parse_date(request.as_of, "as_of")
        balances = await self.transact(lambda repo: handlers.trial_balance(repo, entity, as_of))
        return pb.GetTrialBalanceResponse(
            legal_entity=entity,
            as_of=request.as_of,
            currencies=[convert.trial_balance_to_proto(b, self.chart) for b in balances],
        )

    async def GetRevenueReport(
        self, request: pb.GetRevenueReportRequest, context: Any
    ) -> pb.GetRevenueReportResponse:
        query = ReportQuery(
            legal_entity=_optional_entity(request.legal_entity),
            from_date=parse_date(request.from_date, "from_date"),
            to_date=parse_date(request.to_date, "to_date"),
            group_by=group_by(request.group_by),
        )
        cursor = decode_token("report", request.page_token, (str, str))
        rows, last = await self.transact(
            lambda repo: handlers.revenue_report(
                repo,
                query,
                page_size=request.page_size,
                after=(cursor[0], cursor[1]) if cursor else None,
            )
        )
        return pb.GetRevenueReportResponse(
            rows=[convert.report_row_to_proto(r) for r in rows],
            next_page_token=encode_token("report", last),
        )

    async def GetPortfolio(
        self, request: pb.GetPortfolioRequest, context: Any
    ) -> pb.GetPortfolioResponse:
        as_of = parse_date(request.as_of, "as_of")
        entity = _optional_entity(request.legal_entity)
        found = await self.transact(lambda repo: handlers.portfolio(repo, as_of, entity))
        return pb.GetPortfolioResponse(currencies=[convert.portfolio_to_proto(p) for p in found])

    async def ClosePeriod(
        self, request: pb.ClosePeriodRequest, context: Any
    ) -> pb.ClosePeriodResponse:
        entity = parse_legal_entity(request.legal_entity, "legal_entity")
        period = parse_period(request.period, "period")
        closed = await self.transact(
            lambda repo: handlers.close_period(repo, entity, period, now=dt.datetime.now(dt.UTC))
        )
        return pb.ClosePeriodResponse(period=convert.period_to_proto(closed))

    async def ListPeriods(
        self, request: pb.ListPeriodsRequest, context: Any
    ) -> pb.ListPeriodsResponse:
        entity = parse_legal_entity(request.legal_entity, "legal_entity")
        cursor = decode_token("periods", request.page_token, (Period.parse,))
        before = cursor[0] if cursor else None
        found, last = await self.transact(
            lambda repo: handlers.list_periods(
                repo, entity, page_size=request.page_size, before=before
            )
        )
        return pb.ListPeriodsResponse(
            periods=[convert.period_to_proto(p) for p in found],
            next_page_token=encode_token("periods", None if last is None else [last]),
        )

    async def GetJournalExport(
        self, request: pb.GetJournalExportRequest, context: Any
    ) -> pb.GetJournalExportResponse:
        code = parse_legal_entity(request.legal_entity, "legal_entity")
        entity = self.entities.get(code)
        period = parse_period(request.period, "period")
        if entity is None:
            known = ", ".join(sorted(self.entities))
            raise InvalidArgument.one("legal_entity", f"{code} is not configured ({known})")
        found = await self.transact(
            lambda repo: handlers.export_journal(
                repo, code, period, chart=self.chart, accounts=entity.accounts
            )
        )
        return convert.export_to_proto(found, self.chart)


def _optional_entity(value: str) -> str | None:
    return parse_legal_entity(value, "legal_entity") if value else None
