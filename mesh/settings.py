"""Settings read once from the environment into a frozen object; bad values fail fast."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from mesh.connect_settings import CONNECT_KEY_FILE as CONNECT_KEY_FILE
from mesh.connect_settings import ConnectSettings as ConnectSettings
from mesh.connect_settings import OutboundSettings as OutboundSettings
from mesh.connect_settings import _connect_settings, _outbound_settings

# Re-exported: services, tests and the dev stack import them from here.
from mesh.dsn import local_socket_dir as local_socket_dir
from mesh.dsn import with_database as with_database
from mesh.envparse import SettingsError as SettingsError
from mesh.envparse import _bool, _float, _int, _parsed, _read_secret, _url
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES, LegalEntitySetting, load_legal_entities
from mesh.retention_settings import RetentionSettings, _retention_settings
from mesh.trust_settings import (
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    _gateway_trust,
    _public_key,
    _tls_dir,
    _tls_files,
)
from mesh.trust_settings import TlsFiles as TlsFiles

SERVICES = ("customer", "project", "billing", "revenue", "connect")
DEFAULT_GRPC_PORTS = {
    "customer": 50051,
    "project": 50052,
    "billing": 50053,
    "revenue": 50054,
    "connect": 50055,
}
# Prometheus scrapes each service here (the gateway serves /metrics on its HTTP port).
DEFAULT_METRICS_PORTS = {
    "customer": 9451,
    "project": 9452,
    "billing": 9453,
    "revenue": 9454,
    "connect": 9455,
}
GATEWAY = "gateway"
OPS = "ops"  # the weftwork command (status) when it calls a service
# Everything that holds a certificate of the mesh (docs/security.md): every service, the
# gateway and operators' tools.
IDENTITIES = (*SERVICES, GATEWAY, OPS)
_ACCOUNT = re.compile(r"^[a-z][a-z_]{0,31}$")
_ACCOUNT_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,19}$")
T = TypeVar("T")


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
    # gRPC over mutual TLS: WEFTWORK_TLS_CA/CERT/KEY (one process's own identity, e.g. a pod's
    # mounted Secret) or WEFTWORK_TLS_DIR (ca.crt and <identity>.crt/.key for every identity,
    # the local stack). Neither: plaintext, every caller allowed.
    tls_files: TlsFiles | None = None
    tls_dir: Path | None = None
    # WEFTWORK_<SERVICE>_HEALTH_PORT: a plaintext port serving grpc.health.v1 alone, for probes
    # that cannot present a certificate (Kubernetes); 0 binds any free port; unset: none.
    health_ports: Mapping[str, int] = field(default_factory=dict)
    # WEFTWORK_LEGAL_ENTITIES: every legal entity, for every service and the gateway (JSON or
    # @file; mesh/legal_entities.py, docs/finance.md); unset: US01, UK01, DE01.
    legal_entities: Mapping[str, LegalEntitySetting] = field(
        default_factory=lambda: DEFAULT_LEGAL_ENTITIES
    )
    # WEFTWORK_REVENUE_ACCOUNT_CODES: revenue's ledger codes by account name, over its defaults.
    account_codes: Mapping[str, str] = field(default_factory=dict)
    connect: ConnectSettings = field(default_factory=ConnectSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)  # mesh/retention.py
    # The gateway's trust boundary (DESIGN.md §6): tokens, request cost, sockets.
    jwt_issuer: str = LOCAL_ISSUER  # WEFTWORK_JWT_ISSUER: the `iss` every token must carry
    jwt_audience: str = LOCAL_AUDIENCE  # WEFTWORK_JWT_AUDIENCE: the `aud` it must name
    jwt_max_lifetime_seconds: int = 86_400  # exp - iat of an acceptable token
    gateway_max_authorization_bytes: int = 8_192  # a longer Authorization header is 431
    gateway_max_cost: int = 50_000  # nodes one GraphQL operation may return (gateway/cost.py)
    gateway_cost_per_minute: int = 5_000_000  # each principal's budget of cost points
    gateway_max_connections_per_principal: int = 8  # open subscription sockets
    gateway_max_subscriptions_per_connection: int = 20
    # WEFTWORK_GATEWAY_CACHE_MB: the response cache's bound (docs/performance.md); 0, the
    # default: off, until every change a cached answer can show arrives as an event.
    gateway_cache_mb: int = 0
    # WEFTWORK_GATEWAY_ANY_DOCUMENT: run any GraphQL document (default: WEFTWORK_DEV_MODE); off,
    # only trusted ones; WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS: the operator's (gateway/trusted.py).
    gateway_any_document: bool = False
    gateway_trusted_documents: Mapping[str, str] = field(default_factory=dict)

    def database_url_for(self, service: str) -> str:
        """The DSN of one service's own database (a per-service URL wins over the shared server)."""
        if service in self.service_database_urls:
            return self.service_database_urls[service]
        return with_database(self.database_url, f"weftwork_{service}")

    def grpc_target(self, service: str) -> str:
        """Where to dial a service: WEFTWORK_<SERVICE>_TARGET (e.g. a Kubernetes Service name,
        `dns:///customer:50051`) when set, else the host every service shares on one machine."""
        return self.grpc_targets.get(service) or f"{self.host}:{self.grpc_ports[service]}"

    def tls_identity(self, name: str) -> TlsFiles | None:
        """The certificate `name` (a service, the gateway, ops) presents and the CA it trusts;
        None when gRPC runs in plaintext."""
        if self.tls_files is not None:
            return self.tls_files
        if self.tls_dir is not None:
            return TlsFiles(
                self.tls_dir / "ca.crt", self.tls_dir / f"{name}.crt", self.tls_dir / f"{name}.key"
            )
        return None


def server_urls(url: str) -> list[str]:
    """The servers of a NATS URL: WEFTWORK_NATS_URL may list a cluster's, comma-separated."""
    return [part.strip() for part in url.split(",") if part.strip()]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("WEFTWORK_DATA_DIR") or ".weftwork").resolve()
    host = env.get("WEFTWORK_HOST", "127.0.0.1")
    # Port 0: the server binds any free port and says which (tests, side-by-side stacks).
    grpc_ports = {
        name: _int(env, f"WEFTWORK_{name.upper()}_PORT", port, low=0, high=65535)
        for name, port in DEFAULT_GRPC_PORTS.items()
    }
    nats_port = _int(env, "WEFTWORK_NATS_PORT", 4223, low=0, high=65535)
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
        gateway_port=_int(env, "WEFTWORK_GATEWAY_PORT", 8000, low=0, high=65535),
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
        tls_files=_tls_files(env),
        tls_dir=_tls_dir(env),
        health_ports={
            name: _int(env, f"WEFTWORK_{name.upper()}_HEALTH_PORT", 0, low=0, high=65535)
            for name in DEFAULT_GRPC_PORTS
            if env.get(f"WEFTWORK_{name.upper()}_HEALTH_PORT", "").strip()
        },
        legal_entities=_legal_entities(env),
        account_codes=_parsed(env, "WEFTWORK_REVENUE_ACCOUNT_CODES", _account_codes),
        connect=_connect_settings(env, data_dir),
        outbound=_outbound_settings(env),
        retention=_retention_settings(env),
        **_gateway_trust(env),
    )


# Replaced by WEFTWORK_LEGAL_ENTITIES: a process that still gets them refuses to start rather
# than quietly losing an entity's VAT rate or approval gate.
_RETIRED = ("WEFTWORK_BILLING_LEGAL_ENTITIES", "WEFTWORK_APPROVAL_REQUIRED_ENTITIES")


def _legal_entities(env: Mapping[str, str]) -> Mapping[str, LegalEntitySetting]:
    retired = [name for name in _RETIRED if env.get(name, "").strip()]
    if retired:
        raise SettingsError(
            f"{retired[0]} is retired: configure every legal entity in WEFTWORK_LEGAL_ENTITIES"
            " (docs/finance.md)"
        )
    return _parsed(env, "WEFTWORK_LEGAL_ENTITIES", load_legal_entities)


def _account_codes(text: str) -> dict[str, str]:
    """account=code entries, e.g. "revenue=4100,cash=1010" (revenue knows the accounts)."""
    found: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        account, sep, code = (part.strip() for part in entry.partition("="))
        if not sep or not _ACCOUNT.match(account) or not _ACCOUNT_CODE.match(code):
            raise ValueError(f"{entry!r} is not <account>=<code>, e.g. revenue=4100")
        if found.setdefault(account, code) != code:
            raise ValueError(f"{entry!r}: {account} is given twice")
    return found
