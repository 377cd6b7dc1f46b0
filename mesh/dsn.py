"""PostgreSQL addresses: one service's database on a shared server, the local socket directory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote


def local_socket_dir(data_dir: Path) -> Path:
    """The embedded PostgreSQL socket directory: in data_dir unless too long for a socket path."""
    preferred = data_dir / "run"
    if len(str(preferred)) + len("/.s.PGSQL.5432") < 100:
        return preferred
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:10]
    return Path("/tmp") / f"weftwork-{digest}"


def with_database(dsn: str, database: str) -> str:
    """Replace the database name of a postgresql:// URL, keeping host, user and query."""
    scheme, rest = dsn.split("://", 1)
    authority, _, tail = rest.partition("/")
    _, sep, query = tail.partition("?")
    return f"{scheme}://{authority}/{quote(database)}{sep}{query}"
