"""Inbound sources, the receipts they send, integration exceptions, and the domain events."""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from mesh.errors import FailedPrecondition, InvalidArgument

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_REASON = 2000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SourceKind(enum.Enum):
    HUBSPOT = "HUBSPOT"
    SALESFORCE = "SALESFORCE"
    STANDARD_WEBHOOKS = "STANDARD_WEBHOOKS"


class ReceiptStatus(enum.Enum):
    PENDING = "PENDING"
    PROCESSED = "PROCESSED"
    SKIPPED = "SKIPPED"
    EXCEPTION = "EXCEPTION"


class ExceptionStatus(enum.Enum):
    OPEN = "OPEN"
    RETRIED = "RETRIED"
    DISMISSED = "DISMISSED"
    RESOLVED = "RESOLVED"


def check_source_name(name: str) -> str:
    if not SOURCE_NAME.match(name):
        raise InvalidArgument.one(
            "name", "1-63 lower-case letters, digits and dashes, starting with a letter or digit"
        )
    return name


@dataclass
class InboundSource:
    name: str
    kind: SourceKind
    mapping_json: str
    org_ids: list[str] = field(default_factory=list)
    # Encrypted at rest (see services/connect/adapters/secrets.py); never leaves the service.
    secret: bytes | None = None
    api_token: bytes | None = None
    api_base_url: str = ""
    public_url: str = ""
    enabled: bool = True
    version: int = 1
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)

    def touch(self) -> None:
        self.version += 1
        self.updated_at = _now()


@dataclass(frozen=True)
class IncomingEvent:
    """One event of a verified request, before it is stored: what dedup and mapping need."""

    event_id: str
    external_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class NewReceipt:
    """An event about to be stored under the id it will have if it is new."""

    id: uuid.UUID
    source: str
    event: IncomingEvent


@dataclass
class Receipt:
    id: uuid.UUID
    source: str
    event_id: str
    external_id: str
    payload: dict[str, Any]
    status: ReceiptStatus = ReceiptStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    engagement_id: str = ""
    customer_matched_by: str = ""
    exception_id: uuid.UUID | None = None
    received_at: dt.datetime = field(default_factory=_now)
    processed_at: dt.datetime | None = None
    version: int = 1


@dataclass
class IntegrationException:
    id: uuid.UUID
    source: str
    receipt_id: uuid.UUID
    external_id: str
    reason: str
    payload: dict[str, Any]
    status: ExceptionStatus = ExceptionStatus.OPEN
    dismiss_reason: str = ""
    engagement_id: str = ""
    retries: int = 0
    version: int = 1
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)

    def touch(self) -> None:
        self.version += 1
        self.updated_at = _now()

    def retry(self) -> bool:
        """OPEN -> RETRIED; False when already queued (a repeated click changes nothing)."""
        if self.status is ExceptionStatus.RETRIED:
            return False
        if self.status is not ExceptionStatus.OPEN:
            raise FailedPrecondition(f"a {self.status.value} exception cannot be retried")
        self.status = ExceptionStatus.RETRIED
        self.retries += 1
        self.touch()
        return True

    def dismiss(self, reason: str) -> bool:
        if not reason.strip():
            raise InvalidArgument.one("reason", "say why the exception is dismissed")
        if self.status is ExceptionStatus.DISMISSED:
            return False
        if self.status is ExceptionStatus.RESOLVED:
            raise FailedPrecondition("a RESOLVED exception cannot be dismissed")
        self.status = ExceptionStatus.DISMISSED
        self.dismiss_reason = reason.strip()[:MAX_REASON]
        self.touch()
        return True

    def reopen(self, reason: str) -> None:
        self.status = ExceptionStatus.OPEN
        self.reason = reason[:MAX_REASON]
        self.touch()

    def resolve(self, engagement_id: str) -> None:
        self.status = ExceptionStatus.RESOLVED
        self.engagement_id = engagement_id
        self.touch()


@dataclass(frozen=True)
class ReceiptAccepted:
    receipt: Receipt


@dataclass(frozen=True)
class ExceptionOpened:
    exception: IntegrationException


@dataclass(frozen=True)
class ExceptionResolved:
    exception: IntegrationException


ConnectEvent = ReceiptAccepted | ExceptionOpened | ExceptionResolved
