"""What the Kubernetes manifests rely on from the kit: dialling Services, quiet credentials."""

from __future__ import annotations

from mesh.events.nats import redacted
from mesh.settings import load_settings


def test_a_service_is_dialled_at_its_target_when_one_is_set() -> None:
    settings = load_settings(
        {"WEFTWORK_HOST": "0.0.0.0", "WEFTWORK_CUSTOMER_TARGET": "dns:///customer:50051"}
    )
    assert settings.grpc_target("customer") == "dns:///customer:50051"
    assert settings.grpc_target("billing") == "0.0.0.0:50053"  # no target: the shared host


def test_without_targets_every_service_is_dialled_on_the_shared_host() -> None:
    settings = load_settings({"WEFTWORK_PROJECT_PORT": "6000", "WEFTWORK_REVENUE_TARGET": " "})
    assert settings.grpc_target("project") == "127.0.0.1:6000"
    assert settings.grpc_target("revenue") == "127.0.0.1:50054"


def test_nats_passwords_never_reach_the_logs() -> None:
    assert redacted("nats://billing:s3cr%2Ft@nats:4222") == "nats://billing:***@nats:4222"
    assert redacted("nats://a:x@n1:4222,nats://b:y@n2:4222") == (
        "nats://a:***@n1:4222,nats://b:***@n2:4222"
    )
    assert redacted("nats://127.0.0.1:4223") == "nats://127.0.0.1:4223"
    assert redacted("nats://s3cr3t-token@nats:4222") == "nats://***@nats:4222"
