"""Signing tokens for the local stack and tests: HS256 with a secret kept in the data dir.

Production tokens come from the identity provider (RS256); the gateway verifies both.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import jwt

from mesh.trust_settings import LOCAL_AUDIENCE, LOCAL_ISSUER

ROLES = frozenset({"admin", "sales", "delivery", "finance", "executive"})
# The local stack's issuer and audience: the gateway's defaults (WEFTWORK_JWT_ISSUER/_AUDIENCE).


def issue_token(
    secret: str,
    *,
    subject: str,
    roles: list[str],
    entities: list[str],
    ttl_seconds: int = 86_400,
    issuer: str = LOCAL_ISSUER,
    audience: str = LOCAL_AUDIENCE,
) -> str:
    unknown = set(roles) - ROLES
    if unknown or not roles:
        raise ValueError(f"roles must be some of {', '.join(sorted(ROLES))}; got {roles}")
    if not entities or ("*" in entities and len(entities) > 1):
        raise ValueError(f'entities must be legal entities, or "*" alone; got {entities}')
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "roles": roles,
        "entities": entities,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def local_secret(data_dir: Path) -> str:
    """The local stack's signing secret, created once and kept in data_dir (mode 0600)."""
    path = data_dir / "jwt-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
