"""The local NATS users: one per service with the subject rights of k8s/base/nats/accounts.conf,
the gateway's, and an operator (`ops`) for status, dlq and the test suite. No anonymous access.

Only the operator's password is random (kept in the data dir); every other user's is derived
from it, so whoever holds the operator URL (`weftwork up`, the tests) can hand each service
its own credentials. That gives away nothing: the operator may publish anything anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

OPERATOR = "ops"
GATEWAY = "gateway"
# DESIGN.md section 1: the streams each service consumes (durable pull consumers).
CONSUMES: dict[str, tuple[str, ...]] = {
    "customer": (),
    "project": ("customer",),
    "billing": ("project", "customer"),
    "revenue": ("project", "billing"),
    "connect": ("project", "billing", "revenue", "customer"),
}
USERS = (*CONSUMES, GATEWAY, OPERATOR)
INBOX = "_INBOX.>"  # replies to every request (JetStream API calls included)


def publish_rights(user: str) -> list[str]:
    """Subjects `user` may publish on: its own events and stream, and the consumers it runs."""
    if user == OPERATOR:
        return [">"]
    if user == GATEWAY:  # reads streams and consumers (integration status), writes nothing
        return [
            "$JS.API.INFO",
            "$JS.API.STREAM.NAMES",
            "$JS.API.STREAM.INFO.*",
            "$JS.API.CONSUMER.NAMES.*",
            "$JS.API.CONSUMER.LIST.*",
            "$JS.API.CONSUMER.INFO.*.*",
        ]
    own = user.upper()
    rights = [f"weftwork.{user}.>"]
    rights += [f"$JS.API.STREAM.{verb}.{own}" for verb in ("CREATE", "UPDATE", "INFO")]
    for source in CONSUMES[user]:
        stream = source.upper()
        rights += [
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.INFO.{stream}.*",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
            f"$JS.ACK.{stream}.>",
        ]
    return rights


def subscribe_rights(user: str) -> list[str]:
    if user == OPERATOR:
        return [">"]
    if user == GATEWAY:  # every domain's events live (subscriptions, cache invalidation)
        return ["weftwork.>", INBOX]
    return [INBOX]


def password(operator_password: str, user: str) -> str:
    if user == OPERATOR:
        return operator_password
    digest = hmac.new(operator_password.encode(), user.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def operator_password(store_dir: Path) -> str:
    """The operator's password, created on first use; stable across restarts of the server."""
    path = store_dir / "operator-password"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    created = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(created + "\n")
    return created


def authorization_block(operator: str) -> list[str]:
    """The server config's `authorization` section: every user, no anonymous access."""
    lines = ["authorization {", "  users: ["]
    for user in USERS:
        permissions = {
            "publish": {"allow": publish_rights(user)},
            "subscribe": {"allow": subscribe_rights(user)},
        }
        entry = {"user": user, "password": password(operator, user), "permissions": permissions}
        lines.append(f"    {json.dumps(entry)}")  # NATS config accepts JSON objects
    lines += ["  ]", "}"]
    return lines


def user_url(url: str, user: str) -> str:
    """The same server as the operator's `url`, as `user`; any other URL is returned as it is
    (an external NATS brings its own credentials). A comma-separated list (a cluster's
    servers) gives the list of each one's."""
    if "," in url:
        return ",".join(user_url(part.strip(), user) for part in url.split(",") if part.strip())
    parts = urlsplit(url)
    if parts.username != OPERATOR or parts.password is None:
        return url
    secret = quote(password(unquote(parts.password), user), safe="")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{secret}@{host}"))
