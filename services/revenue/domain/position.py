"""An engagement's revenue position, and the margin arithmetic shared with the portfolio."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mesh.money import Money
from services.revenue.domain.facts import BillingModel

_CENT = Decimal("0.01")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole x 100 with two decimals, half-up; None when whole is 0."""
    if not whole:
        return None
    return (part / whole * 100).quantize(_CENT, rounding=ROUND_HALF_UP)


def at_least_zero(amount: Money) -> Money:
    return amount if amount.amount > 0 else Money.zero(amount.currency)


@dataclass(frozen=True)
class Position:
    engagement_id: uuid.UUID
    legal_entity: str
    currency: str
    billing_model: BillingModel
    contract_value: Money
    percent_complete: Decimal | None  # 0-100; None for TIME_AND_MATERIALS
    recognized: Money
    recognized_fee: Money  # recognized against the contract value (all but expenses)
    billed: Money  # excluding tax, net of credit notes
    cost: Money
    version: int
    updated_at: dt.datetime

    @property
    def unbilled_receivable(self) -> Money:
        return at_least_zero(self.recognized - self.billed)

    @property
    def deferred_revenue(self) -> Money:
        return at_least_zero(self.billed - self.recognized)

    @property
    def margin(self) -> Money:
        return self.recognized - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin.amount, self.recognized.amount)

    @property
    def backlog(self) -> Money:
        """Revenue still to deliver under the contract; expenses come on top of it."""
        return at_least_zero(self.contract_value - self.recognized_fee)
