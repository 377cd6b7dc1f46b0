"""All SQL of the connect service (asyncpg), behind the ConnectRepository protocol."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from mesh.events.outbox import OutgoingEvent, add_events
from services.connect.convert import events
from services.connect.domain.model import ConnectEvent
from services.connect.store.deliveries import DeliveryRows
from services.connect.store.endpoints import EndpointRows
from services.connect.store.exceptions import ExceptionRows
from services.connect.store.receipts import ReceiptRows
from services.connect.store.sources import SourceRows


class ConnectStore(SourceRows, ReceiptRows, ExceptionRows, EndpointRows, DeliveryRows):
    """A repository bound to one connection inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def emit(self, event: ConnectEvent) -> None:
        await self.emit_all([event])

    async def emit_all(self, found: Sequence[ConnectEvent]) -> None:
        """Every event in one insert (and one NOTIFY to the relay)."""
        await add_events(
            self.conn,
            source="connect",
            events=[OutgoingEvent(*events.to_message(event)) for event in found],
        )
