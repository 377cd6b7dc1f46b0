"""The `weftwork` command line: parsing, clear usage errors, and how `up` wires its children."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devstack import cli, entrypoints
from devstack.up import child_specs, render_endpoints
from mesh.settings import load_settings


def test_up_parses_dev_mode() -> None:
    args = cli.build_parser().parse_args(["up", "--dev"])
    assert args.command is cli.COMMANDS["up"]
    assert args.dev is True
    assert cli.build_parser().parse_args(["up"]).dev is False


def test_serve_accepts_each_service_and_the_gateway() -> None:
    for name in ("customer", "project", "billing", "revenue", "gateway"):
        assert cli.build_parser().parse_args(["serve", name]).name == name


def test_serve_rejects_an_unknown_service_with_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "payroll"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'payroll'" in capsys.readouterr().err


def test_every_runnable_part_has_a_main() -> None:
    for name in entrypoints.RUNNABLE:
        assert callable(entrypoints.load_main(name))
    assert (entrypoints.service_dir("billing") / "migrations").is_dir()


def test_serve_runs_main_and_awaits_it_when_async(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def main() -> int:
        return 7

    monkeypatch.setenv("WEFTWORK_DATA_DIR", str(tmp_path))  # no local stack's NATS users here

    monkeypatch.setattr(cli, "load_main", lambda name: main)
    assert cli.main(["serve", "customer"]) == 7
    monkeypatch.setattr(cli, "load_main", lambda name: lambda: None)
    assert cli.main(["serve", "customer"]) == 0


def test_migrate_rejects_unknown_services(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate", "payroll", "billing"]) == 2
    assert "unknown service 'payroll'" in capsys.readouterr().err


def test_every_documented_command_exists() -> None:
    documented = {"up", "serve", "migrate", "token", "demo", "status", "dlq"}
    assert documented <= set(cli.COMMANDS)


def test_token_prints_a_token_the_gateway_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from gateway.auth import TokenVerifier

    monkeypatch.setenv("WEFTWORK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WEFTWORK_JWT_SECRET", raising=False)
    assert cli.main(["token", "--role", "finance", "--entity", "UK01"]) == 0
    token = capsys.readouterr().out.strip()
    secret = (tmp_path / "jwt-secret").read_text().strip()
    caller = TokenVerifier(secret=secret, public_key=None).verify(f"Bearer {token}")
    assert (caller.roles, caller.entities) == (frozenset({"finance"}), frozenset({"UK01"}))
    assert cli.main(["token", "--role", "king"]) == 2


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "required" in capsys.readouterr().err


def test_bad_configuration_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEFTWORK_NATS_PORT", "lots")
    assert cli.main(["status"]) == 2
    assert "WEFTWORK_NATS_PORT='lots' is not an integer" in capsys.readouterr().err


def test_up_points_each_child_at_the_started_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEFTWORK_DEV_MODE", raising=False)
    settings = load_settings({"WEFTWORK_DATA_DIR": str(tmp_path)})
    specs = child_specs(settings, ["customer", "gateway"], dev=True)
    assert [s.name for s in specs] == ["customer", "gateway"]
    assert list(specs[0].argv) == [sys.executable, "-m", "devstack.cli", "serve", "customer"]
    env = specs[0].env
    assert env is not None
    assert env["WEFTWORK_DATABASE_URL"] == settings.database_url
    assert env["WEFTWORK_NATS_URL"] == "nats://127.0.0.1:4223"
    assert env["WEFTWORK_DATA_DIR"] == str(tmp_path)
    assert env["WEFTWORK_DEV_MODE"] == "true"
    assert "WEFTWORK_DEV_MODE" not in (child_specs(settings, ["customer"], dev=False)[0].env or {})


def test_up_table_says_where_each_part_listens(tmp_path: Path) -> None:
    settings = load_settings({"WEFTWORK_DATA_DIR": str(tmp_path), "WEFTWORK_CUSTOMER_PORT": "6001"})
    table = render_endpoints(settings)
    assert table.startswith("weftwork is up")
    assert "customer    gRPC 127.0.0.1:6001" in table
    assert "metrics http://127.0.0.1:9451/metrics" in table
    assert "gateway     http://127.0.0.1:8000/graphql" in table
    assert "nats://127.0.0.1:4223" in table
    assert f"socket {tmp_path / 'run'} (port 5432)" in table
