"""The gateway's integer conversion of a protobuf Money prints exactly what the Decimal
arithmetic it replaced printed: `round_amount(money_from_proto(m))`, half-up, per currency."""

from __future__ import annotations

from google.type import money_pb2
from hypothesis import given
from hypothesis import strategies as st

from gateway.common import money
from mesh.grpc.convert import money_from_proto
from mesh.money import round_amount

units = st.integers(min_value=-(10**15), max_value=10**15)
nanos = st.integers(min_value=-999_999_999, max_value=999_999_999)
ties = st.sampled_from([0, 5_000_000, -5_000_000, 500_000_000, -500_000_000, 4_999_999, 1])
currencies = st.sampled_from(["EUR", "USD", "JPY", "KWD", "GBP", "CLF"])


def reference(message: money_pb2.Money) -> str:
    value = money_from_proto(message)
    return str(round_amount(value.amount, value.currency))


@given(units, nanos | ties, currencies)
def test_the_amount_is_the_decimal_arithmetics(u: int, n: int, currency: str) -> None:
    message = money_pb2.Money(currency_code=currency, units=u, nanos=n)
    converted = money(message)
    assert converted is not None and converted.currency == currency
    assert str(converted.amount) == reference(message)
    assert converted.amount == round_amount(money_from_proto(message).amount, currency)


def test_no_currency_is_no_amount() -> None:
    assert money(None) is None
    assert money(money_pb2.Money(units=5)) is None
