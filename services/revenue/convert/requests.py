"""Revenue's request fields, parsed with field-precise errors."""

from __future__ import annotations

import uuid

from mesh import requests
from mesh.errors import InvalidArgument
from services.revenue.domain.periods import Period
from services.revenue.domain.reports import GroupBy
from weftwork.revenue.v1 import revenue_service_pb2 as pb

GROUPS: dict[int, GroupBy] = {
    pb.REVENUE_GROUP_BY_UNSPECIFIED: GroupBy.MONTH,
    pb.REVENUE_GROUP_BY_MONTH: GroupBy.MONTH,
    pb.REVENUE_GROUP_BY_ENGAGEMENT: GroupBy.ENGAGEMENT,
    pb.REVENUE_GROUP_BY_CUSTOMER: GroupBy.CUSTOMER,
}


def group_by(value: int) -> GroupBy:
    if value not in GROUPS:
        raise InvalidArgument.one("group_by", f"{value} is not a RevenueGroupBy")
    return GROUPS[value]


def parse_id(value: str, field: str) -> uuid.UUID:
    return requests.parse_id(value, field, kind="an engagement id")


def parse_ids(values: list[str], field: str) -> list[uuid.UUID]:
    return requests.parse_ids(values, field, kind="an engagement id")


def parse_period(value: str, field: str) -> Period:
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise InvalidArgument.one(field, str(exc)) from None
