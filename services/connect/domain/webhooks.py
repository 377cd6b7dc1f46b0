"""Webhook endpoints: what they subscribe to, where they point, and which events they take."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mesh.errors import Violations

MAX_URL = 2000
MAX_DESCRIPTION = 500
MAX_TYPES = 50
_ENTITY = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
_TYPE = re.compile(r"^weftwork(\.[a-z0-9_]+)*(\.\*|\.v[0-9]+)$")
OpenSecret = Callable[[bytes], str]  # the secret box's open


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class WebhookEndpoint:
    id: uuid.UUID
    url: str
    event_types: list[str]
    secret: bytes  # sealed (services/connect/adapters/secrets.py)
    legal_entities: list[str] = field(default_factory=list)
    description: str = ""
    previous_secret: bytes | None = None
    previous_expires_at: dt.datetime | None = None
    enabled: bool = True
    disabled_reason: str = ""
    failing_since: dt.datetime | None = None
    version: int = 1
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)

    def touch(self) -> None:
        self.version += 1
        self.updated_at = _now()

    def takes(self, event_type: str, legal_entity: str) -> bool:
        """Subscribed to this type, and to this entity when it names entities at all."""
        if not self.enabled or not any(type_matches(p, event_type) for p in self.event_types):
            return False
        return not self.legal_entities or legal_entity in self.legal_entities

    def signing_secrets(self, open_secret: OpenSecret, now: dt.datetime) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        found = [open_secret(self.secret)]
        expires = self.previous_expires_at
        if self.previous_secret is not None and expires is not None and now < expires:
            found.append(open_secret(self.previous_secret))
        return found

    def rotate(self, sealed: bytes, grace: dt.timedelta) -> None:
        self.previous_secret, self.secret = self.secret, sealed
        self.previous_expires_at = _now() + grace
        self.touch()

    def disable(self, reason: str) -> None:
        self.enabled = False
        self.disabled_reason = reason
        self.touch()


def type_matches(pattern: str, event_type: str) -> bool:
    """`weftwork.billing.invoice.issued.v1` matches itself; `weftwork.billing.*` every
    type under weftwork.billing."""
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def check_event_types(
    patterns: Sequence[str], catalogue: Iterable[str], errors: Violations, field_name: str
) -> list[str]:
    known = sorted(catalogue)
    if not patterns:
        errors.add(
            field_name, "subscribe to at least one event type (or a prefix like weftwork.billing.*)"
        )
    if len(patterns) > MAX_TYPES:
        errors.add(field_name, f"at most {MAX_TYPES} event types")
    for i, pattern in enumerate(patterns):
        if not _TYPE.match(pattern) or not any(type_matches(pattern, t) for t in known):
            errors.add(
                f"{field_name}[{i}]",
                f"{pattern!r} is no event type Weftwork sends (e.g. {known[0]}, or a prefix "
                "like weftwork.billing.*)",
            )
    return list(dict.fromkeys(patterns))


def check_entities(entities: Sequence[str], errors: Violations, field_name: str) -> list[str]:
    for i, entity in enumerate(entities):
        if not _ENTITY.match(entity):
            errors.add(f"{field_name}[{i}]", "a legal entity code, e.g. UK01")
    return list(dict.fromkeys(entities))


def check_url(url: str, *, allow_insecure: bool, errors: Violations, field_name: str) -> str:
    """https to a name or a public address; plain http and private hosts only when the
    deployment allows insecure targets (development). Names are resolved again at delivery."""
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("https", "http") or not parts.hostname:
        errors.add(field_name, "must be an absolute https URL")
        return url
    if parts.username or parts.password:
        errors.add(field_name, "must not carry credentials (the signature authenticates us)")
    if allow_insecure:
        return url
    if parts.scheme != "https":
        errors.add(field_name, "must be https")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname.lower() in ("localhost",) or parts.hostname.endswith(".localhost"):
            errors.add(field_name, "must not point at this host")
        return url
    if not is_public(address):
        errors.add(field_name, "must not point at a loopback, private or link-local address")
    return url


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Where production deliveries may go: no loopback, private, link-local, multicast,
    unspecified or reserved address (IPv4-mapped IPv6 judged as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


def clean_description(value: str, errors: Violations, field_name: str) -> str:
    if len(value) > MAX_DESCRIPTION:
        errors.add(field_name, f"at most {MAX_DESCRIPTION} characters")
    return value.strip()
