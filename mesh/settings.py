"""Settings read once from the environment into a frozen object; bad values fail fast."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mesh.tokens import LOCAL_AUDIENCE, LOCAL_ISSUER

SERVICES = ("customer", "project", "billing", "revenue")
DEFAULT_GRPC_PORTS = {"customer": 50051, "project": 50052, "billing": 50053, "revenue": 50054}
# Prometheus scrapes each service here (the gateway serves /metrics on its HTTP port).
DEFAULT_METRICS_PORTS = {"customer": 9451, "project": 9452, "billing": 9453, "revenue": 9454}


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is outside {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, low: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < low:
        raise SettingsError(f"{name}={value} is below {low}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use true/false)")


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    if not raw.startswith(tuple(f"{s}://" for s in schemes)):
        raise SettingsError(
            f"{name} must start with one of {', '.join(s + '://' for s in schemes)}"
        )
    return raw.strip()


def local_socket_dir(data_dir: Path) -> Path:
    """The embedded PostgreSQL socket directory: in data_dir unless too long for a socket path."""
    preferred = data_dir / "run"
    if len(str(preferred)) + len("/.s.PGSQL.5432") < 100:
        return preferred
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:10]
    return Path("/tmp") / f"weftwork-{digest}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str
    grpc_ports: Mapping[str, int]
    gateway_port: int
    nats_port: int
    database_url: str
    nats_url: str
    embedded_postgres: bool
    embedded_nats: bool
    service_database_urls: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    grpc_deadline_seconds: float = 5.0
    shutdown_grace_seconds: float = 10.0
    stream_replicas: int = 1
    max_deliver: int = 8
    ack_wait_seconds: float = 30.0
    dev_mode: bool = False
    jwt_secret: str | None = None  # HS256; local stacks keep one in data_dir/jwt-secret
    jwt_public_key: str | None = None  # RS256 PEM, for production identity providers
    gateway_max_body_bytes: int = 1_000_000
    gateway_max_concurrent_operations: int = 16
    # Where other services are dialled when not on this host (WEFTWORK_<SERVICE>_TARGET).
    grpc_targets: Mapping[str, str] = field(default_factory=dict)
    # WEFTWORK_<SERVICE>_METRICS_PORT; 0 binds any free port (tests).
    metrics_ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_METRICS_PORTS))
    # The gateway's trust boundary (DESIGN.md §6): tokens, request cost, sockets.
    jwt_issuer: str = LOCAL_ISSUER  # WEFTWORK_JWT_ISSUER: the `iss` every token must carry
    jwt_audience: str = LOCAL_AUDIENCE  # WEFTWORK_JWT_AUDIENCE: the `aud` it must name
    jwt_max_lifetime_seconds: int = 86_400  # exp - iat of an acceptable token
    gateway_max_authorization_bytes: int = 8_192  # a longer Authorization header is 431
    gateway_max_cost: int = 50_000  # nodes one GraphQL operation may return (gateway/cost.py)
    gateway_cost_per_minute: int = 5_000_000  # each principal's budget of cost points
    gateway_max_connections_per_principal: int = 8  # open subscription sockets
    gateway_max_subscriptions_per_connection: int = 20

    def database_url_for(self, service: str) -> str:
        """The DSN of one service's own database (a per-service URL wins over the shared server)."""
        if service in self.service_database_urls:
            return self.service_database_urls[service]
        return with_database(self.database_url, f"weftwork_{service}")

    def grpc_target(self, service: str) -> str:
        """Where to dial a service: WEFTWORK_<SERVICE>_TARGET (e.g. a Kubernetes Service name,
        `dns:///customer:50051`) when set, else the host every service shares on one machine."""
        return self.grpc_targets.get(service) or f"{self.host}:{self.grpc_ports[service]}"


def with_database(dsn: str, database: str) -> str:
    """Replace the database name of a postgresql:// URL, keeping host, user and query."""
    scheme, rest = dsn.split("://", 1)
    authority, _, tail = rest.partition("/")
    _, sep, query = tail.partition("?")
    return f"{scheme}://{authority}/{quote(database)}{sep}{query}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("WEFTWORK_DATA_DIR") or ".weftwork").resolve()
    host = env.get("WEFTWORK_HOST", "127.0.0.1")
    grpc_ports = {
        name: _int(env, f"WEFTWORK_{name.upper()}_PORT", port, low=1, high=65535)
        for name, port in DEFAULT_GRPC_PORTS.items()
    }
    nats_port = _int(env, "WEFTWORK_NATS_PORT", 4223, low=1, high=65535)
    database_url = _url(env, "WEFTWORK_DATABASE_URL", ("postgresql", "postgres"))
    nats_url = _url(env, "WEFTWORK_NATS_URL", ("nats", "tls"))
    service_urls = {
        name: url
        for name in DEFAULT_GRPC_PORTS
        if (url := _url(env, f"WEFTWORK_{name.upper()}_DATABASE_URL", ("postgresql", "postgres")))
    }
    level = env.get("WEFTWORK_LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"WEFTWORK_LOG_LEVEL={level!r} is not DEBUG, INFO, WARNING or ERROR")
    socket_dir = local_socket_dir(data_dir)
    return Settings(
        data_dir=data_dir,
        host=host,
        grpc_ports=grpc_ports,
        gateway_port=_int(env, "WEFTWORK_GATEWAY_PORT", 8000, low=1, high=65535),
        nats_port=nats_port,
        database_url=database_url or f"postgresql://postgres@/postgres?host={socket_dir}",
        nats_url=nats_url or f"nats://127.0.0.1:{nats_port}",
        embedded_postgres=database_url is None,
        embedded_nats=nats_url is None,
        service_database_urls=service_urls,
        log_level=level,
        grpc_deadline_seconds=_float(env, "WEFTWORK_GRPC_DEADLINE_SECONDS", 5.0, low=0.01),
        shutdown_grace_seconds=_float(env, "WEFTWORK_SHUTDOWN_GRACE_SECONDS", 10.0, low=0.0),
        stream_replicas=_int(env, "WEFTWORK_STREAM_REPLICAS", 1, low=1, high=5),
        max_deliver=_int(env, "WEFTWORK_MAX_DELIVER", 8, low=1, high=1000),
        ack_wait_seconds=_float(env, "WEFTWORK_ACK_WAIT_SECONDS", 30.0, low=0.1),
        dev_mode=_bool(env, "WEFTWORK_DEV_MODE", False),
        jwt_secret=env.get("WEFTWORK_JWT_SECRET") or _read_secret(data_dir / "jwt-secret"),
        jwt_public_key=_public_key(env),
        gateway_max_body_bytes=_int(
            env, "WEFTWORK_GATEWAY_MAX_BODY_BYTES", 1_000_000, low=1024, high=100_000_000
        ),
        gateway_max_concurrent_operations=_int(
            env, "WEFTWORK_GATEWAY_MAX_CONCURRENT_OPERATIONS", 16, low=1, high=10_000
        ),
        grpc_targets={
            name: target.strip()
            for name in DEFAULT_GRPC_PORTS
            if (target := env.get(f"WEFTWORK_{name.upper()}_TARGET", "")).strip()
        },
        metrics_ports={
            name: _int(env, f"WEFTWORK_{name.upper()}_METRICS_PORT", port, low=0, high=65535)
            for name, port in DEFAULT_METRICS_PORTS.items()
        },
        **_gateway_trust(env),
    )


def _gateway_trust(env: Mapping[str, str]) -> dict[str, Any]:
    """The gateway's token, cost and socket limits; the budget must admit the costliest request."""
    max_cost = _int(env, "WEFTWORK_GATEWAY_MAX_COST", 50_000, low=1, high=10**9)
    per_minute = _int(env, "WEFTWORK_GATEWAY_COST_PER_MINUTE", 5_000_000, low=1, high=10**12)
    if max_cost > per_minute:
        raise SettingsError(
            "WEFTWORK_GATEWAY_MAX_COST is above WEFTWORK_GATEWAY_COST_PER_MINUTE: the costliest "
            "request allowed could never run"
        )
    return {
        "jwt_issuer": env.get("WEFTWORK_JWT_ISSUER", "").strip() or LOCAL_ISSUER,
        "jwt_audience": env.get("WEFTWORK_JWT_AUDIENCE", "").strip() or LOCAL_AUDIENCE,
        "jwt_max_lifetime_seconds": _int(
            env, "WEFTWORK_JWT_MAX_LIFETIME_SECONDS", 86_400, low=60, high=31 * 86_400
        ),
        "gateway_max_authorization_bytes": _int(
            env, "WEFTWORK_GATEWAY_MAX_AUTHORIZATION_BYTES", 8_192, low=256, high=65_536
        ),
        "gateway_max_cost": max_cost,
        "gateway_cost_per_minute": per_minute,
        "gateway_max_connections_per_principal": _int(
            env, "WEFTWORK_GATEWAY_MAX_CONNECTIONS_PER_PRINCIPAL", 8, low=1, high=10_000
        ),
        "gateway_max_subscriptions_per_connection": _int(
            env, "WEFTWORK_GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION", 20, low=1, high=10_000
        ),
    }


def _read_secret(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _public_key(env: Mapping[str, str]) -> str | None:
    raw = env.get("WEFTWORK_JWT_PUBLIC_KEY")
    if raw is None or raw.strip() == "":
        return None
    if "BEGIN PUBLIC KEY" not in raw:
        raise SettingsError("WEFTWORK_JWT_PUBLIC_KEY must be a PEM public key (BEGIN PUBLIC KEY)")
    return raw
