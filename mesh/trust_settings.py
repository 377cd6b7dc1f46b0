"""Settings of trust: this process's certificates (mutual TLS) and the gateway's token, cost
and socket limits (DESIGN.md §6)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh.envparse import SettingsError, _bool, _int, _parsed, inline_or_file

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
        "gateway_any_document": _bool(
            env, "WEFTWORK_GATEWAY_ANY_DOCUMENT", _bool(env, "WEFTWORK_DEV_MODE", False)
        ),
        "gateway_trusted_documents": _parsed(
            env, "WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS", load_trusted_documents
        ),
    }


def load_trusted_documents(text: str) -> dict[str, str]:
    """WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS: JSON, or `@path` of a file holding it: an object of
    documents by their SHA-256 (hex), or Apollo's persisted query manifest (`operations`, each
    with `id` and `body`). Every hash must be its document's; ValueError names the one that
    is not."""
    text = inline_or_file(text)
    if not text:
        return {}
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        pairs = [
            (op.get("id"), op.get("body")) if isinstance(op, dict) else (None, None)
            for op in data["operations"]
        ]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ValueError("must be a JSON object: documents by SHA-256, or an Apollo manifest")
    found: dict[str, str] = {}
    for digest, document in pairs:
        if not isinstance(digest, str) or not isinstance(document, str):
            raise ValueError("every entry needs a SHA-256 and a document, both strings")
        if hashlib.sha256(document.encode()).hexdigest() != digest.lower():
            raise ValueError(f"{digest} is not the SHA-256 of its document")
        found[digest.lower()] = document
    return found


def _public_key(env: Mapping[str, str]) -> str | None:
    raw = env.get("WEFTWORK_JWT_PUBLIC_KEY")
    if raw is None or raw.strip() == "":
        return None
    if "BEGIN PUBLIC KEY" not in raw:
        raise SettingsError("WEFTWORK_JWT_PUBLIC_KEY must be a PEM public key (BEGIN PUBLIC KEY)")
    return raw
