"""JetStream streams (one per producing domain) and durable consumers, declared idempotently.

Every process declares what it needs on start; declaring is create-or-update, so restarts,
rolling deploys and two replicas racing all converge on the same configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError

DOMAINS = ("customer", "project", "billing", "revenue", "connect")
NAMESPACE = "weftwork"
# Nats-Msg-Id dedup covers a relay re-publishing after a crash; it must outlast any outage
# the relay is expected to ride out between publishing and marking rows published.
MIN_DUPLICATE_WINDOW = 600.0
_STREAM_NAME_IN_USE = 10058  # "stream name already in use with a different configuration"


class UnsupportedServer(RuntimeError):
    """The NATS server lacks a feature this configuration needs; retrying will not help."""


def stream_name(domain: str, namespace: str = NAMESPACE) -> str:
    """CUSTOMER, PROJECT, ...; another namespace (tests, sandboxes) gets <NAMESPACE>_<DOMAIN>."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")
    return domain.upper() if namespace == NAMESPACE else f"{namespace}_{domain}".upper()


def stream_owner(stream: str) -> str:
    """The domain that produces a stream named by stream_name: PROJECT or <NAMESPACE>_PROJECT
    is project's, and only /weftwork/project may publish events on it."""
    domain = stream.rpartition("_")[2].lower()
    if domain not in DOMAINS:
        raise ValueError(f"stream {stream!r} is not named after one of {', '.join(DOMAINS)}")
    return domain


def stream_subjects(domain: str, namespace: str = NAMESPACE) -> str:
    return f"{namespace}.{domain}.>"


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard match: `*` is one token, a final `>` is one or more."""
    wanted, actual = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(actual) > index
        if index >= len(actual) or (token != "*" and token != actual[index]):
            return False
    return len(actual) == len(wanted)


async def ensure_stream(
    js: JetStreamContext,
    domain: str,
    replicas: int = 1,
    *,
    namespace: str = NAMESPACE,
    duplicate_window: float = MIN_DUPLICATE_WINDOW,
) -> api.StreamInfo:
    """Create the domain's stream, or bring an existing one to this configuration."""
    if duplicate_window < MIN_DUPLICATE_WINDOW:
        raise ValueError(f"duplicate_window must be at least {MIN_DUPLICATE_WINDOW:.0f} s")
    config = api.StreamConfig(
        name=stream_name(domain, namespace),
        description=f"Events of the {domain} domain",
        subjects=[stream_subjects(domain, namespace)],
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=duplicate_window,
    )
    try:
        # The server answers an identical create with the existing stream, so racing
        # creators both succeed.
        return await js.add_stream(config)
    except BadRequestError as exc:
        if exc.err_code != _STREAM_NAME_IN_USE:
            raise
    return await js.update_stream(config)


async def ensure_consumer(
    js: JetStreamContext,
    stream: str,
    durable: str,
    filter_subjects: Sequence[str],
    *,
    ack_wait: float,
    max_deliver: int,
    backoff: Sequence[float] | None = None,
    max_ack_pending: int | None = None,
) -> api.ConsumerInfo:
    """Create or update a durable pull consumer with explicit acks over the given subjects."""
    if not filter_subjects:
        raise ValueError("a consumer needs at least one filter subject")
    subjects = sorted(set(filter_subjects))
    config = api.ConsumerConfig(
        name=durable,
        durable_name=durable,
        description=f"{durable} on {stream}",
        deliver_policy=api.DeliverPolicy.ALL,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=max_deliver,
        backoff=list(backoff) if backoff else None,
        max_ack_pending=max_ack_pending,
    )
    if len(subjects) == 1:
        config.filter_subject = subjects[0]
    else:
        # Several filter subjects on one consumer arrived in nats-server 2.10; an older server
        # would silently ignore them and deliver the whole stream.
        version = js._nc.connected_server_version
        if (version.major, version.minor) < (2, 10):
            raise UnsupportedServer(f"nats-server {version} cannot filter on several subjects")
        config.filter_subjects = subjects
    # Without an explicit action the server creates the consumer or updates it in place.
    return await js.add_consumer(stream, config)
