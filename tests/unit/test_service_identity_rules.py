"""Service identity settings and the call graph the allow-lists encode (DESIGN.md §1, §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.certs import ensure_certificates, existing_identity, identity_files
from mesh.grpc.callers import callers_of, gateway_and
from mesh.settings import IDENTITIES, SettingsError, TlsFiles, load_settings
from services.billing.main import SPEC as BILLING
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from services.revenue.main import SPEC as REVENUE

BASE = {"WEFTWORK_DATA_DIR": "/tmp/weftwork-unit"}


def test_without_tls_settings_grpc_stays_plaintext() -> None:
    settings = load_settings(BASE)
    assert settings.tls_identity("project") is None
    assert settings.health_ports == {}


def test_a_tls_dir_holds_one_certificate_per_identity() -> None:
    settings = load_settings({**BASE, "WEFTWORK_TLS_DIR": "/srv/tls"})
    assert settings.tls_identity("billing") == TlsFiles(
        Path("/srv/tls/ca.crt"), Path("/srv/tls/billing.crt"), Path("/srv/tls/billing.key")
    )


def test_explicit_files_are_the_process_own_identity_whatever_it_is_asked() -> None:
    files = {"WEFTWORK_TLS_CA": "/t/ca.crt", "WEFTWORK_TLS_CERT": "/t/tls.crt"}
    files["WEFTWORK_TLS_KEY"] = "/t/tls.key"
    settings = load_settings({**BASE, **files})
    assert settings.tls_identity("project") == settings.tls_identity("gateway")
    assert settings.tls_identity("project") == TlsFiles(
        Path("/t/ca.crt"), Path("/t/tls.crt"), Path("/t/tls.key")
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"WEFTWORK_TLS_CA": "/t/ca.crt"}, "missing WEFTWORK_TLS_CERT, WEFTWORK_TLS_KEY"),
        (
            {
                "WEFTWORK_TLS_CA": "/a",
                "WEFTWORK_TLS_CERT": "/b",
                "WEFTWORK_TLS_KEY": "/c",
                "WEFTWORK_TLS_DIR": "/d",
            },
            "not both",
        ),
        ({"WEFTWORK_PROJECT_HEALTH_PORT": "http"}, "WEFTWORK_PROJECT_HEALTH_PORT"),
    ],
)
def test_half_a_tls_configuration_fails_fast(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        load_settings({**BASE, **env})


def test_health_ports_are_served_only_where_configured() -> None:
    settings = load_settings({**BASE, "WEFTWORK_BILLING_HEALTH_PORT": "50063"})
    assert settings.health_ports == {"billing": 50063}


def test_the_service_to_service_calls_are_exactly_the_design_call_graph() -> None:
    edges = set()
    for spec in (CUSTOMER, PROJECT, BILLING, REVENUE):
        assert spec.callers is not None, f"{spec.name} declares no callers"
        for method, callers in spec.callers.items():
            assert "gateway" in callers, f"{method}: the gateway is the public API's door"
            edges |= {(caller, method.rpartition("/")[2]) for caller in callers - {"gateway"}}
    assert edges == {
        ("project", "ResolveCustomer"),  # close-won resolves the customer (DESIGN.md §1)
        ("connect", "CreateEngagementFromOpportunity"),  # a CRM webhook's won deal
    }


def test_a_table_must_decide_every_method_and_only_real_ones() -> None:
    api = "weftwork.mesh.v1.LineageService"
    with pytest.raises(ValueError, match="no callers declared for ListEngagementEvents"):
        callers_of(api, {})
    with pytest.raises(ValueError, match="has no method Nope"):
        gateway_and(api, {"Nope": {"ops"}})


def test_the_local_ca_issues_every_identity_once_and_reuses_it(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path / "tls")
    assert sorted(first) == sorted(IDENTITIES)
    written = {name: files.cert.read_bytes() for name, files in first.items()}
    ensure_certificates(tmp_path / "tls")
    assert {name: f.cert.read_bytes() for name, f in first.items()} == written
    assert oct(first["project"].key.stat().st_mode & 0o777) == "0o600"
    assert existing_identity(tmp_path, "ops") == identity_files(tmp_path / "tls", "ops")
    assert existing_identity(tmp_path / "elsewhere", "ops") is None


def test_a_new_ca_reissues_every_certificate(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path, ["project"])
    before = first["project"].cert.read_bytes()
    (tmp_path / "ca.crt").unlink()
    ensure_certificates(tmp_path, ["project"])
    assert first["project"].cert.read_bytes() != before
