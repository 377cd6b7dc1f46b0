"""Revenue positions, periods and the portfolio, per currency."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import strawberry

from gateway.common import Money, money_required
from gateway.context import Info
from weftwork.revenue.v1 import revenue_service_pb2 as pb


@strawberry.type(description="Recognized and billed revenue of one engagement (ASC 606 / IFRS 15).")
class RevenuePosition:
    recognized: Money
    billed: Money = strawberry.field(description="Invoiced, excluding tax.")
    unbilled: Money = strawberry.field(description="Contract asset: max(0, recognized - billed).")
    deferred: Money = strawberry.field(
        description="Contract liability: max(0, billed - recognized)."
    )
    percent_complete: Decimal | None
    _cost: strawberry.Private[Money]
    _margin: strawberry.Private[Money]
    _margin_percent: strawberry.Private[Decimal | None]

    @strawberry.field(description="Finance, executive or admin only; null otherwise.")
    def cost(self, info: Info) -> Money | None:
        return self._cost if info.context.principal.sees_costs else None

    @strawberry.field(description="Finance, executive or admin only; null otherwise.")
    def margin(self, info: Info) -> Money | None:
        return self._margin if info.context.principal.sees_costs else None

    @strawberry.field(description="Finance, executive or admin only; null otherwise.")
    def margin_percent(self, info: Info) -> Decimal | None:
        return self._margin_percent if info.context.principal.sees_costs else None

    @classmethod
    def from_proto(cls, p: pb.Position) -> RevenuePosition:
        c = p.currency
        return cls(
            recognized=money_required(p.recognized, c),
            billed=money_required(p.billed, c),
            unbilled=money_required(p.unbilled_receivable, c),
            deferred=money_required(p.deferred_revenue, c),
            percent_complete=Decimal(p.percent_complete) if p.percent_complete else None,
            _cost=money_required(p.cost, c),
            _margin=money_required(p.margin, c),
            _margin_percent=Decimal(p.margin_percent) if p.margin_percent else None,
        )


@strawberry.enum
class PeriodStatus(enum.Enum):
    OPEN = pb.PERIOD_STATUS_OPEN
    CLOSED = pb.PERIOD_STATUS_CLOSED


@strawberry.type
class Period:
    legal_entity: str
    period: str
    status: PeriodStatus
    closed_at: dt.datetime | None

    @classmethod
    def from_proto(cls, p: pb.Period) -> Period:
        closed = p.close_time.ToDatetime(dt.UTC) if p.HasField("close_time") else None
        return cls(
            legal_entity=p.legal_entity,
            period=p.period,
            status=PeriodStatus(p.status),
            closed_at=closed,
        )


@strawberry.type(description="One currency's totals; currencies are never added together.")
class CurrencyPortfolio:
    currency: str
    engagements: int
    backlog: Money
    recognized: Money
    billed: Money
    unbilled: Money
    deferred: Money
    receivables_aging: ReceivablesAging | None
    _margin: strawberry.Private[Money | None]

    @strawberry.field(description="Finance, executive or admin only; null otherwise.")
    def margin(self, info: Info) -> Money | None:
        return self._margin if info.context.principal.sees_costs else None


@strawberry.type(description="Open receivables by days past due.")
class ReceivablesAging:
    current: Money
    overdue_1_to_30: Money
    overdue_31_to_60: Money
    overdue_61_to_90: Money
    overdue_over_90: Money
    total: Money


@strawberry.type
class Portfolio:
    as_of: dt.date
    legal_entity: str | None
    by_currency: list[CurrencyPortfolio]
