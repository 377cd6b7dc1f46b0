"""Settings of trust: this process's certificates (mutual TLS) and the gateway's token, cost
and socket limits (DESIGN.md §6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh.envparse import SettingsError, _int

# What tokens the local stack signs carry, and what the gateway asks for unless configured.
LOCAL_ISSUER = "weftwork"
LOCAL_AUDIENCE = "weftwork-gateway"


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one identity: the CA every peer must chain to, its certificate, its key."""

    ca: Path
    cert: Path
    key: Path


_TLS_PARTS = ("WEFTWORK_TLS_CA", "WEFTWORK_TLS_CERT", "WEFTWORK_TLS_KEY")


def _tls_files(env: Mapping[str, str]) -> TlsFiles | None:
    """All three of WEFTWORK_TLS_CA/CERT/KEY or none (files are read when a server or channel
    starts, so a missing one stops the process there, naming it)."""
    given = {name: env.get(name, "").strip() for name in _TLS_PARTS}
    missing = [name for name, value in given.items() if not value]
    if len(missing) == len(_TLS_PARTS):
        return None
    if missing:
        raise SettingsError(f"{', '.join(_TLS_PARTS)} go together; missing {', '.join(missing)}")
    if env.get("WEFTWORK_TLS_DIR", "").strip():
        raise SettingsError("set WEFTWORK_TLS_DIR or WEFTWORK_TLS_CA/CERT/KEY, not both")
    ca, cert, key = (Path(given[name]) for name in _TLS_PARTS)
    return TlsFiles(ca=ca, cert=cert, key=key)


def _tls_dir(env: Mapping[str, str]) -> Path | None:
    raw = env.get("WEFTWORK_TLS_DIR", "").strip()
    return Path(raw).resolve() if raw else None


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
        "gateway_cache_mb": _int(env, "WEFTWORK_GATEWAY_CACHE_MB", 0, low=0, high=65_536),
    }


def _public_key(env: Mapping[str, str]) -> str | None:
    raw = env.get("WEFTWORK_JWT_PUBLIC_KEY")
    if raw is None or raw.strip() == "":
        return None
    if "BEGIN PUBLIC KEY" not in raw:
        raise SettingsError("WEFTWORK_JWT_PUBLIC_KEY must be a PEM public key (BEGIN PUBLIC KEY)")
    return raw
