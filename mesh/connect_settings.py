"""Settings of the connect service: inbound webhooks, outbound deliveries, CRM write-back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mesh.envparse import _bool, _float, _int, _read_secret, _url

# --- connect (services/connect, gateway/hooks.py): one block -------------------------------
CONNECT_KEY_FILE = "connect-key"  # the local stack's key, generated into the data dir


@dataclass(frozen=True)
class ConnectSettings:
    """Inbound webhooks: where secrets' key comes from, body cap, worker pacing, CRM API."""

    # Fernet key (urlsafe base64 of 32 bytes) that encrypts sources' secrets at rest:
    # WEFTWORK_CONNECT_SECRET_KEY, else data_dir/connect-key (the local stack makes one).
    secret_key: str | None = None
    max_body_bytes: int = 1_000_000  # WEFTWORK_CONNECT_MAX_BODY_BYTES: larger hooks are 413
    hubspot_api_url: str = "https://api.hubapi.com"  # WEFTWORK_CONNECT_HUBSPOT_API_URL
    poll_seconds: float = 1.0  # WEFTWORK_CONNECT_POLL_SECONDS: the worker's NOTIFY fallback
    max_attempts: int = 12  # WEFTWORK_CONNECT_MAX_ATTEMPTS: transient failures, then exception
    retry_cap_seconds: float = 300.0  # WEFTWORK_CONNECT_RETRY_CAP_SECONDS: longest backoff
    worker_batch: int = 16  # WEFTWORK_CONNECT_WORKER_BATCH: receipts claimed per transaction


def _connect_settings(env: Mapping[str, str], data_dir: Path) -> ConnectSettings:
    # Checked by connect when it starts (services/connect/adapters/secrets.py): other processes load
    # these settings too and never need the key.
    return ConnectSettings(
        secret_key=env.get("WEFTWORK_CONNECT_SECRET_KEY")
        or _read_secret(data_dir / CONNECT_KEY_FILE),
        max_body_bytes=_int(
            env, "WEFTWORK_CONNECT_MAX_BODY_BYTES", 1_000_000, low=1024, high=100_000_000
        ),
        hubspot_api_url=_url(env, "WEFTWORK_CONNECT_HUBSPOT_API_URL", ("https", "http"))
        or "https://api.hubapi.com",
        poll_seconds=_float(env, "WEFTWORK_CONNECT_POLL_SECONDS", 1.0, low=0.01),
        max_attempts=_int(env, "WEFTWORK_CONNECT_MAX_ATTEMPTS", 12, low=1, high=1000),
        retry_cap_seconds=_float(env, "WEFTWORK_CONNECT_RETRY_CAP_SECONDS", 300.0, low=0.01),
        worker_batch=_int(env, "WEFTWORK_CONNECT_WORKER_BATCH", 16, low=1, high=1000),
    )


# --- end of connect's block ------------------------------------------------------------------


# --- connect outbound (services/connect: webhooks and CRM write-back): one block ------------
@dataclass(frozen=True)
class OutboundSettings:
    """Outbound webhooks and CRM write-back: targets allowed, retry window, pacing."""

    # WEFTWORK_CONNECT_OUTBOUND_ALLOW_INSECURE: http:// and loopback/private targets
    # (development and tests only; production is https to public addresses).
    allow_insecure: bool = False
    retry_window_seconds: float = 108_000.0  # WEFTWORK_CONNECT_DELIVERY_RETRY_WINDOW_SECONDS
    backoff_base_seconds: float = 5.0  # WEFTWORK_CONNECT_DELIVERY_BACKOFF_BASE_SECONDS
    backoff_cap_seconds: float = 10_800.0  # WEFTWORK_CONNECT_DELIVERY_BACKOFF_CAP_SECONDS
    timeout_seconds: float = 15.0  # WEFTWORK_CONNECT_DELIVERY_TIMEOUT_SECONDS: per request
    disable_after_seconds: float = 432_000.0  # WEFTWORK_CONNECT_ENDPOINT_DISABLE_AFTER_SECONDS
    batch: int = 32  # WEFTWORK_CONNECT_DELIVERY_BATCH: deliveries claimed per transaction
    lanes: int = 2  # WEFTWORK_CONNECT_DELIVERY_LANES: batches in flight side by side
    poll_seconds: float = 1.0  # WEFTWORK_CONNECT_DELIVERY_POLL_SECONDS: NOTIFY fallback


def _outbound_settings(env: Mapping[str, str]) -> OutboundSettings:
    return OutboundSettings(
        allow_insecure=_bool(env, "WEFTWORK_CONNECT_OUTBOUND_ALLOW_INSECURE", False),
        retry_window_seconds=_float(
            env, "WEFTWORK_CONNECT_DELIVERY_RETRY_WINDOW_SECONDS", 108_000.0, low=0.1
        ),
        backoff_base_seconds=_float(
            env, "WEFTWORK_CONNECT_DELIVERY_BACKOFF_BASE_SECONDS", 5.0, low=0.001
        ),
        backoff_cap_seconds=_float(
            env, "WEFTWORK_CONNECT_DELIVERY_BACKOFF_CAP_SECONDS", 10_800.0, low=0.001
        ),
        timeout_seconds=_float(env, "WEFTWORK_CONNECT_DELIVERY_TIMEOUT_SECONDS", 15.0, low=0.1),
        disable_after_seconds=_float(
            env, "WEFTWORK_CONNECT_ENDPOINT_DISABLE_AFTER_SECONDS", 432_000.0, low=0.1
        ),
        batch=_int(env, "WEFTWORK_CONNECT_DELIVERY_BATCH", 32, low=1, high=1000),
        lanes=_int(env, "WEFTWORK_CONNECT_DELIVERY_LANES", 2, low=1, high=16),
        poll_seconds=_float(env, "WEFTWORK_CONNECT_DELIVERY_POLL_SECONDS", 1.0, low=0.01),
    )


# --- end of connect outbound's block ---------------------------------------------------------
