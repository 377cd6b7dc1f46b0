"""The finance side of the workload: billing runs, issuing every draft, payments in full and in
part, and voids (whose items go back to unbilled and are billed again by a later run)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from mesh.grpc.convert import date_to_proto, money_from_proto, money_to_proto
from mesh.money import Money
from tests.faults.cluster import Platform
from tests.faults.rpc import Caller
from tests.faults.workload import LAST_DAY, key
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.billing.v1 import billing_service_pb2_grpc as billing_grpc

T = TypeVar("T")
# Issue dates over two years, so numbering is checked per entity and year.
ISSUE_DATES = [dt.date(2025, 6, 30), dt.date(2025, 12, 31), dt.date(2026, 6, 30)]
CONCURRENT_CALLS = 4


@dataclass
class OpenInvoice:
    id: str
    issue_date: dt.date
    balance: Money
    payments: int = 0


@dataclass
class Finance:
    platform: Platform
    rng: random.Random
    call: Caller
    money_events: Counter[str] = field(default_factory=Counter)
    open: dict[str, OpenInvoice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.billing = billing_grpc.BillingServiceStub(self.platform.channel("billing"))
        self._slots = asyncio.Semaphore(CONCURRENT_CALLS)

    async def round(self) -> None:
        run = await self.call(
            self.billing.RunBilling,
            pb.RunBillingRequest(cutoff=date_to_proto(LAST_DAY), idempotency_key=key()),
            what="RunBilling",
        )
        await self._each(self._issue, run.invoices)
        await self._each(self._settle, list(self.open.values()))

    async def _each(self, action: Callable[[T], Awaitable[None]], items: Iterable[T]) -> None:
        """The action on every item, a few calls at a time."""

        async def bounded(item: T) -> None:
            async with self._slots:
                await action(item)

        async with asyncio.TaskGroup() as calls:
            for item in items:
                calls.create_task(bounded(item))

    async def _issue(self, draft: pb.Invoice) -> None:
        issue_date = self.rng.choice(ISSUE_DATES)
        issued = await self.call(
            self.billing.IssueInvoice,
            pb.IssueInvoiceRequest(
                id=draft.id, issue_date=date_to_proto(issue_date), idempotency_key=key()
            ),
            what="IssueInvoice",
        )
        balance = money_from_proto(issued.invoice.balance)
        self.open[draft.id] = OpenInvoice(draft.id, issue_date, balance)
        self.money_events["invoices"] += 1

    async def _settle(self, invoice: OpenInvoice) -> None:
        """Void an unpaid one now and then; else pay all, pay half, or wait for a later round."""
        choice = self.rng.random()
        if invoice.payments == 0 and choice < 0.08:
            await self.call(
                self.billing.VoidInvoice,
                pb.VoidInvoiceRequest(
                    id=invoice.id, reason="wrong purchase order", idempotency_key=key()
                ),
                what="VoidInvoice",
            )
            del self.open[invoice.id]
            self.money_events["voids"] += 1
        elif choice < 0.55:
            await self._pay(invoice, invoice.balance)
            del self.open[invoice.id]
        elif choice < 0.75 and invoice.balance.amount >= 1:
            await self._pay(invoice, Money.of(invoice.balance.amount / 2, invoice.balance.currency))

    async def _pay(self, invoice: OpenInvoice, amount: Money) -> None:
        invoice.payments += 1
        received = invoice.issue_date + dt.timedelta(days=self.rng.randrange(60))
        await self.call(
            self.billing.RecordPayment,
            pb.RecordPaymentRequest(
                invoice_id=invoice.id,
                amount=money_to_proto(amount),
                received_on=date_to_proto(received),
                reference=f"BANK-{uuid.UUID(invoice.id).hex[:12]}-{invoice.payments}",
                idempotency_key=key(),
            ),
            what="RecordPayment",
        )
        invoice.balance = invoice.balance - amount
        self.money_events["payments"] += 1
