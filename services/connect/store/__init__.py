"""All SQL of the connect service (asyncpg), behind the ConnectRepository protocol."""

from __future__ import annotations

import asyncpg

from mesh.events.outbox import add_event
from services.connect import events
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
        subject, aggregate_id, version, message = events.to_message(event)
        await add_event(
            self.conn,
            source="connect",
            subject=subject,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            message=message,
        )
