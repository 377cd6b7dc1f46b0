"""Versions of an engagement's terms (DESIGN.md §9): what Engagement.amendments lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from gateway.common import Money, date, money_required
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type(description="One amendment: a new version of the engagement's terms.")
class EngagementAmendment:
    version: int = strawberry.field(description="The terms version it made (1 is as won).")
    effective_date: dt.date | None
    reason: str
    actor: str | None = strawberry.field(description="Who amended (the token's subject).")
    contract_value: Money = strawberry.field(description="The contract value it put in force.")
    budget_hours: Decimal
    end_date: dt.date | None
    rate_card_version: int

    @classmethod
    def from_proto(cls, a: pb.EngagementAmendment, currency: str) -> EngagementAmendment:
        return cls(
            version=a.version,
            effective_date=date(a.effective_date),
            reason=a.reason,
            actor=a.actor or None,
            contract_value=money_required(a.contract_value, currency),
            budget_hours=Decimal(a.budget_hours or "0"),
            end_date=date(a.end_date),
            rate_card_version=a.rate_card_version,
        )
