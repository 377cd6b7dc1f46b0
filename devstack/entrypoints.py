"""The runnable parts of Weftwork by name: each service's composition root and the gateway.

Imported on demand, so `weftwork --help` stays fast and a container loads only its own part.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from mesh.settings import SERVICES

GATEWAY = "gateway"
RUNNABLE = (*SERVICES, GATEWAY)


def _customer() -> ModuleType:
    from services.customer import main

    return main


def _project() -> ModuleType:
    from services.project import main

    return main


def _billing() -> ModuleType:
    from services.billing import main

    return main


def _revenue() -> ModuleType:
    from services.revenue import main

    return main


def _connect() -> ModuleType:
    from services.connect import main

    return main


def _gateway() -> ModuleType:
    from gateway import app

    return app


_ENTRY_MODULES: dict[str, Callable[[], ModuleType]] = {
    "customer": _customer,
    "project": _project,
    "billing": _billing,
    "revenue": _revenue,
    "connect": _connect,
    GATEWAY: _gateway,
}


def entry_module(name: str) -> ModuleType:
    """services/<name>/main.py, or gateway/app.py."""
    try:
        load = _ENTRY_MODULES[name]
    except KeyError:
        raise ValueError(f"unknown service {name!r} (choose from {', '.join(RUNNABLE)})") from None
    return load()


def load_main(name: str) -> Callable[[], object]:
    main: Callable[[], object] = entry_module(name).main
    return main


def service_dir(name: str) -> Path:
    """The folder of a service's package (its migrations/ live there)."""
    return Path(str(entry_module(name).__file__)).parent
