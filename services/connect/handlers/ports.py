"""What the use cases need from the outside: the repository, the secret box, project and CRMs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from services.connect.domain.model import (
    ConnectEvent,
    ExceptionStatus,
    InboundSource,
    IntegrationException,
    NewReceipt,
    Receipt,
)
from services.connect.domain.opportunity import OpportunityWon
from services.connect.handlers.outbound_ports import OutboundRepository

T = TypeVar("T")
Cursor = tuple[dt.datetime, uuid.UUID]


class ConnectRepository(OutboundRepository, Protocol):
    async def get_source(self, name: str, *, for_update: bool = False) -> InboundSource | None: ...
    async def get_sources(self, names: Sequence[str]) -> dict[str, InboundSource]: ...
    async def add_source(self, source: InboundSource) -> None: ...
    async def update_source(self, source: InboundSource) -> None: ...
    async def list_sources(self) -> list[InboundSource]: ...

    async def add_receipts(self, new: Sequence[NewReceipt]) -> list[Receipt]:
        """Stores the events not stored before (ON CONFLICT (source, event_id) DO NOTHING);
        returns those it stored."""
        ...

    async def add_receipts_accepted(self, new: Sequence[NewReceipt]) -> list[Receipt]:
        """add_receipts, and receipt.accepted of each stored one, in one statement (atomic on
        its own, outside a transaction)."""
        ...

    async def get_receipt(self, receipt_id: uuid.UUID) -> Receipt | None: ...
    async def claim_due_receipts(self, limit: int) -> list[Receipt]:
        """PENDING receipts whose time has come, locked FOR UPDATE SKIP LOCKED."""
        ...

    async def save_receipts(self, settled: Sequence[tuple[Receipt, float | None]]) -> None:
        """Each receipt's state, and in how many seconds a PENDING one is due again."""
        ...

    async def requeue_receipt(self, receipt_id: uuid.UUID) -> None: ...
    async def receipts_page(
        self, *, source: str | None, after: Cursor | None, limit: int
    ) -> list[Receipt]: ...

    async def get_exception(
        self, exception_id: uuid.UUID, *, for_update: bool = False
    ) -> IntegrationException | None: ...
    async def add_exception(self, exception: IntegrationException) -> None: ...
    async def update_exception(self, exception: IntegrationException) -> None: ...
    async def exceptions_page(
        self,
        *,
        source: str | None,
        status: ExceptionStatus | None,
        after: Cursor | None,
        limit: int,
    ) -> list[IntegrationException]: ...

    async def emit(self, event: ConnectEvent) -> None: ...
    async def emit_all(self, events: Sequence[ConnectEvent]) -> None: ...


Transact = Callable[[Callable[[ConnectRepository], Awaitable[T]]], Awaitable[T]]


class SecretBox(Protocol):
    """Encrypts secrets at rest (services/connect/adapters/secrets.py)."""

    def seal(self, plain: str) -> bytes: ...
    def open(self, sealed: bytes) -> str: ...


class Transient(Exception):
    """A dependency is away (project, the CRM API); try the receipt again later."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class CreatedEngagement:
    engagement_id: str
    customer_matched_by: str  # "EXTERNAL_REF", "TAX_ID", "DOMAIN", "NAME", "CREATED"
    created: bool


class Engagements(Protocol):
    async def create(self, system: str, won: OpportunityWon) -> CreatedEngagement:
        """Raises Unmappable when project refuses, Transient when it is away."""
        ...


@dataclass(frozen=True)
class Deal:
    deal_id: str
    properties: dict[str, Any]
    company_id: str
    company: dict[str, Any]


class DealReader(Protocol):
    async def read_deal(self, base_url: str, token: str, deal_id: str) -> Deal:
        """The deal and its first associated company from the CRM's API."""
        ...
