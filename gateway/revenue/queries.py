"""portfolio: the controller's per-currency picture, from revenue and billing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import strawberry
from google.type import money_pb2

from gateway.common import Money, date_input
from gateway.context import Info
from gateway.errors import call
from gateway.revenue.types import CurrencyPortfolio, Portfolio, ReceivablesAging
from gateway.scope import list_scope
from mesh.grpc.convert import money_from_proto
from mesh.money import Money as KitMoney
from weftwork.billing.v1 import billing_service_pb2 as billing_pb
from weftwork.revenue.v1 import revenue_service_pb2 as pb

_PORTFOLIO = (
    "backlog",
    "recognized",
    "billed",
    "unbilled_receivable",
    "deferred_revenue",
    "margin",
)
_AGING = (
    "current",
    "overdue_1_to_30",
    "overdue_31_to_60",
    "overdue_61_to_90",
    "overdue_over_90",
    "total",
)


def _add(into: dict[str, KitMoney], field: str, value: money_pb2.Money, currency: str) -> None:
    amount = money_from_proto(value) if value.currency_code else KitMoney.zero(currency)
    into[field] = into[field] + amount if field in into else amount


@strawberry.type
class RevenueQueries:
    @strawberry.field(
        description="Per currency: backlog, recognized, billed, unbilled, deferred, aging."
    )
    async def portfolio(
        self, info: Info, as_of: dt.date, legal_entity: str | None = None
    ) -> Portfolio:
        entities = list_scope(info.context.principal, legal_entity) or [""]
        totals: dict[str, dict[str, KitMoney]] = defaultdict(dict)
        aging: dict[str, dict[str, KitMoney]] = defaultdict(dict)
        counts: dict[str, int] = defaultdict(int)
        for entity in entities:
            portfolio = await call(
                "revenue",
                info.context.clients.revenue.GetPortfolio(
                    pb.GetPortfolioRequest(as_of=date_input(as_of), legal_entity=entity)
                ),
            )
            for row in portfolio.currencies:
                counts[row.currency] += row.engagements
                for field in _PORTFOLIO:
                    _add(totals[row.currency], field, getattr(row, field), row.currency)
            receivables = await call(
                "billing",
                info.context.clients.billing.GetAging(
                    billing_pb.GetAgingRequest(as_of=date_input(as_of), legal_entity=entity)
                ),
            )
            for row in receivables.currencies:
                for field in _AGING:
                    _add(aging[row.currency], field, getattr(row, field), row.currency)
        return Portfolio(
            as_of=as_of,
            legal_entity=legal_entity,
            by_currency=[_currency(c, counts[c], totals[c], aging.get(c)) for c in sorted(totals)],
        )


def _money(value: KitMoney) -> Money:
    return Money(amount=value.amount, currency=value.currency)


def _currency(
    currency: str, engagements: int, t: dict[str, KitMoney], a: dict[str, KitMoney] | None
) -> CurrencyPortfolio:
    return CurrencyPortfolio(
        currency=currency,
        engagements=engagements,
        backlog=_money(t["backlog"]),
        recognized=_money(t["recognized"]),
        billed=_money(t["billed"]),
        unbilled=_money(t["unbilled_receivable"]),
        deferred=_money(t["deferred_revenue"]),
        receivables_aging=ReceivablesAging(**{f: _money(a[f]) for f in _AGING}) if a else None,
        _margin=_money(t["margin"]),
    )
