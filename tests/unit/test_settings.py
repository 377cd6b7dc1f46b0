"""Settings come from the environment once, and a bad value stops the process with its name."""

from __future__ import annotations

import pytest

from mesh.settings import SettingsError, load_settings, with_database


def test_defaults_describe_the_local_stack() -> None:
    settings = load_settings({"WEFTWORK_DATA_DIR": "/srv/ww"})
    assert settings.embedded_postgres and settings.embedded_nats
    assert settings.grpc_ports == {
        "customer": 50051,
        "project": 50052,
        "billing": 50053,
        "revenue": 50054,
        "connect": 50055,
    }
    assert settings.metrics_ports == {
        "customer": 9451,
        "project": 9452,
        "billing": 9453,
        "revenue": 9454,
        "connect": 9455,
    }
    assert settings.nats_url == "nats://127.0.0.1:4223"
    assert settings.database_url_for("billing").startswith(
        "postgresql://postgres@/weftwork_billing?host="
    )


def test_a_service_database_url_wins_over_the_shared_server() -> None:
    settings = load_settings(
        {
            "WEFTWORK_DATABASE_URL": "postgresql://app:pw@db:5432/postgres?sslmode=require",
            "WEFTWORK_REVENUE_DATABASE_URL": "postgresql://rev@rev-db/revenue",
        }
    )
    assert not settings.embedded_postgres
    assert settings.database_url_for("customer") == (
        "postgresql://app:pw@db:5432/weftwork_customer?sslmode=require"
    )
    assert settings.database_url_for("revenue") == "postgresql://rev@rev-db/revenue"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEFTWORK_CUSTOMER_PORT", "fifty", "WEFTWORK_CUSTOMER_PORT='fifty' is not an integer"),
        ("WEFTWORK_NATS_PORT", "70000", "WEFTWORK_NATS_PORT=70000 is outside 0..65535"),
        (
            "WEFTWORK_BILLING_METRICS_PORT",
            "-1",
            "WEFTWORK_BILLING_METRICS_PORT=-1 is outside 0..65535",
        ),
        ("WEFTWORK_DATABASE_URL", "mysql://x", "WEFTWORK_DATABASE_URL must start with"),
        ("WEFTWORK_NATS_URL", "http://x", "WEFTWORK_NATS_URL must start with"),
        ("WEFTWORK_DEV_MODE", "maybe", "WEFTWORK_DEV_MODE='maybe' is not a boolean"),
        ("WEFTWORK_LOG_LEVEL", "LOUD", "WEFTWORK_LOG_LEVEL='LOUD'"),
        ("WEFTWORK_GRPC_DEADLINE_SECONDS", "0", "WEFTWORK_GRPC_DEADLINE_SECONDS=0.0 is below"),
    ],
)
def test_malformed_values_fail_fast_naming_the_variable(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_settings({name: value})


def test_a_metrics_port_of_zero_means_any_free_port() -> None:
    settings = load_settings({"WEFTWORK_PROJECT_METRICS_PORT": "0"})
    assert (settings.metrics_ports["project"], settings.metrics_ports["customer"]) == (0, 9451)


def test_a_listening_port_of_zero_means_the_server_picks_one() -> None:
    settings = load_settings(
        {"WEFTWORK_BILLING_PORT": "0", "WEFTWORK_GATEWAY_PORT": "0", "WEFTWORK_NATS_PORT": "0"}
    )
    assert (settings.grpc_ports["billing"], settings.gateway_port, settings.nats_port) == (0, 0, 0)


def test_with_database_keeps_authority_and_query() -> None:
    assert (
        with_database("postgresql://u@/postgres?host=/tmp/x", "w")
        == "postgresql://u@/w?host=/tmp/x"
    )
    assert with_database("postgresql://u@h:1", "w") == "postgresql://u@h:1/w"


def test_revenue_codes_are_settings_too() -> None:
    settings = load_settings({"WEFTWORK_REVENUE_ACCOUNT_CODES": "revenue=4100, cash=1010"})
    assert settings.account_codes == {"revenue": "4100", "cash": "1010"}
    for name, value in [
        ("WEFTWORK_REVENUE_ACCOUNT_CODES", "revenue"),
        ("WEFTWORK_REVENUE_ACCOUNT_CODES", "revenue=1,revenue=2"),
    ]:
        with pytest.raises(SettingsError, match=f"^{name}: "):
            load_settings({name: value})
