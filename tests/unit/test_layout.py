"""Every service has the one layout of docs/architecture.md ("Service layout"), whatever
services exist: learn one, know them all."""

from __future__ import annotations

from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
# Each role is a module, or (when it grows) a package of the same name.
ROLES = ("handlers", "consumers", "store", "convert", "grpc_api")
# Roles a service has only when it needs them: clients of other services and vendors, and
# background loops other than consumers (connect's receipt and delivery workers).
OPTIONAL_ROLES = ("adapters", "workers")
PACKAGES = ("domain",)  # always a package
MODULES = ("__init__", "main")  # always a module
# Names the roles replaced; a module called so would be a second home for one of them.
RETIRED = {
    "kept": "mesh.idempotency",
    "intake": "consumers (the table) and handlers (what an event changes)",
    "incoming": "convert (events in) and consumers",
    "parse": "convert",
    "events": "convert (events out and in)",
    "customers": "adapters (a client of another service) or store",
    "queries": "handlers",
    "repository": "handlers (the repository protocol)",
    "replica_store": "store",
    "report_store": "store",
}
MAX_LINES = 250


def service_packages() -> list[Path]:
    return sorted(p for p in SERVICES.iterdir() if (p / "__init__.py").is_file())


def entries(package: Path) -> dict[str, Path]:
    """The package's modules and subpackages by name (caches and data files aside)."""
    found: dict[str, Path] = {}
    for path in package.iterdir():
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        if path.is_dir():
            found[path.name] = path
        elif path.suffix == ".py":
            found[path.stem] = path
    return found


def test_there_are_services_to_check() -> None:
    assert {p.name for p in service_packages()} >= {"customer", "project", "billing", "revenue"}


@pytest.mark.parametrize("package", service_packages(), ids=lambda p: p.name)
def test_a_service_has_exactly_the_layout(package: Path) -> None:
    found = entries(package)
    problems = [f"{name}.py: was {RETIRED[name]}" for name in found if name in RETIRED]
    for name in MODULES:
        if not (found.get(name) and found[name].is_file()):
            problems.append(f"{name}.py is missing")
    for name in PACKAGES:
        if not (found.get(name) and (found[name] / "__init__.py").is_file()):
            problems.append(f"{name}/ (a package) is missing")
    for name in ROLES:
        path = found.get(name)
        if path is None:
            problems.append(f"{name}.py (or {name}/) is missing")
        elif path.is_dir() and not (path / "__init__.py").is_file():
            problems.append(f"{name}/ has no __init__.py")
    if not (package / "migrations").is_dir() or not list((package / "migrations").glob("*.sql")):
        problems.append("migrations/ with numbered SQL files is missing")
    allowed = {*MODULES, *PACKAGES, *ROLES, *OPTIONAL_ROLES, "migrations"}
    problems += [f"{name}: not part of the layout" for name in found if name not in allowed]
    assert problems == [], f"services/{package.name}: " + "; ".join(problems)


@pytest.mark.parametrize("package", service_packages(), ids=lambda p: p.name)
def test_no_module_of_a_service_needs_a_table_of_contents(package: Path) -> None:
    long = {
        str(path.relative_to(SERVICES)): lines
        for path in package.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
