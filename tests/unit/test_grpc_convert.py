"""The kit's protobuf conversions agree with protobuf's own, to the nanosecond and the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from mesh.grpc.convert import money_from_proto, money_to_proto, timestamp_to_proto
from mesh.money import Money

instants = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-7, minutes=-30))]),
)


@given(instants)
def test_a_timestamp_is_the_same_instant_as_protobufs_own(value: dt.datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value.astimezone(dt.UTC))
    assert timestamp_to_proto(value) == expected
    assert timestamp_to_proto(value).ToDatetime(dt.UTC) == value


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_money_survives_the_round_trip(amount: Decimal) -> None:
    assert money_from_proto(money_to_proto(Money(amount, "EUR"))) == Money(amount, "EUR")
