"""All SQL of the billing service (asyncpg), behind the BillingRepository protocol."""

from __future__ import annotations

from mesh.events.outbox import add_event
from mesh.idempotency import KeptResponseRows
from services.billing.convert import events
from services.billing.domain.model import InvoiceEvent
from services.billing.store.billing_runs import BillingRunRows
from services.billing.store.invoices import InvoiceRows
from services.billing.store.payments import PaymentRows
from services.billing.store.replica import ReplicaRows


class BillingStore(InvoiceRows, BillingRunRows, PaymentRows, ReplicaRows, KeptResponseRows):
    """A repository bound to one connection inside the caller's transaction (a use case's,
    or a consumer's savepoint)."""

    async def emit(self, event: InvoiceEvent) -> None:
        subject, message = events.to_message(event)
        await add_event(
            self.conn,
            source="billing",
            subject=subject,
            aggregate_id=str(event.invoice.id),
            aggregate_version=event.invoice.version,
            message=message,
        )
