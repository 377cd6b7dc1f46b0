"""Find the services and gateway present in this tree, by module name only.

The kit must never import a service statically (an import-linter contract forbids it), so
they are found with importlib and loaded only by `weftwork serve`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

from mesh.settings import SERVICES

GATEWAY = "gateway"
RUNNABLE = (*SERVICES, GATEWAY)


class EntrypointMissing(LookupError):
    """The named service or gateway is not in this tree."""


def entrypoint_module(name: str) -> str:
    if name == GATEWAY:
        return "gateway.app"
    if name in SERVICES:
        return f"services.{name}.main"
    raise EntrypointMissing(f"unknown service {name!r} (choose from {', '.join(RUNNABLE)})")


def find_entrypoint(name: str) -> Path | None:
    """The entry module's file (services/<name>/main.py or gateway/app.py), if it exists."""
    try:
        spec = importlib.util.find_spec(entrypoint_module(name))
    except (ImportError, ValueError):  # a parent package is missing
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin)


def service_dir(name: str) -> Path:
    path = find_entrypoint(name)
    if path is None:
        raise EntrypointMissing(f"{name}: services/{name}/main.py is not in this tree")
    return path.parent


def present_services() -> list[str]:
    return [name for name in SERVICES if find_entrypoint(name) is not None]


def gateway_present() -> bool:
    return find_entrypoint(GATEWAY) is not None


def load_main(name: str) -> Callable[[], object]:
    """Import the entry module and return its main()."""
    module_name = entrypoint_module(name)
    if find_entrypoint(name) is None:
        raise EntrypointMissing(f"{name}: {module_name.replace('.', '/')}.py is not in this tree")
    main = getattr(importlib.import_module(module_name), "main", None)
    if not callable(main):
        raise EntrypointMissing(f"{module_name} has no main()")
    return main  # type: ignore[no-any-return]
