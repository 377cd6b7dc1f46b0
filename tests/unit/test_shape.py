"""The tree keeps its shape: the kit is only what a service process needs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_kit_loads_no_module_by_name() -> None:
    # import-linter sees static imports only; loading by name would get around its contracts.
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "mesh").rglob("*.py")
        if "importlib" in path.read_text() or "__import__" in path.read_text()
    ]
    assert offenders == []
