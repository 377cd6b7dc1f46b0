"""The producers billing consumes, faked: PROJECT and CUSTOMER events published exactly as those
services' relays publish them (tests.support.publish_event), with versions that increase per
aggregate the way the producers' do; and a harness running billing against them."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import nats
from google.protobuf.message import Message
from google.type import money_pb2
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mesh.events.streams import ensure_stream
from mesh.grpc.client import open_channel
from mesh.grpc.convert import date_to_proto, money_from_proto, money_to_proto
from mesh.legal_entities import dump_legal_entities
from mesh.money import Money
from services.billing.domain.taxes import DEFAULT_LEGAL_ENTITIES
from services.billing.handlers import LegalEntities
from services.billing.main import SPEC
from tests.support import eventually, publish_event, serving, settings_for
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.billing.v1 import billing_service_pb2_grpc as pb_grpc
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.customer.v1 import events_pb2 as customer_events
from weftwork.project.v1 import events_pb2 as project_events
from weftwork.project.v1 import project_service_pb2 as project_pb

TM = project_pb.BILLING_MODEL_TIME_AND_MATERIALS
FIXED_FEE = project_pb.BILLING_MODEL_FIXED_FEE
MILESTONE = project_pb.BILLING_MODEL_MILESTONE
ACTIVATED = "weftwork.project.engagement.activated.v1"
TIME_APPROVED = "weftwork.project.time_entry.approved.v1"
EXPENSE_APPROVED = "weftwork.project.expense.approved.v1"
MILESTONE_COMPLETED = "weftwork.project.milestone.completed.v1"
CUSTOMER_UPDATED = "weftwork.customer.customer.updated.v1"
CUSTOMER_MERGED = "weftwork.customer.customer.merged.v1"


def money(amount: str | Decimal, currency: str) -> money_pb2.Money:
    return money_to_proto(Money(Decimal(amount), currency))


def rated(
    hours: str,
    rate: str,
    day: dt.date,
    *,
    currency: str,
    billable: bool = True,
    role: str = "Consultant",
) -> project_events.RatedTimeEntry:
    """An approved entry with its rates snapshotted, as ApproveTime rates it."""
    return project_events.RatedTimeEntry(
        time_entry_id=str(uuid.uuid4()),
        person_id=str(uuid.uuid4()),
        role=role,
        date=date_to_proto(day),
        hours=hours,
        bill_rate=rate,
        cost_rate="50.00",
        bill_amount=money_to_proto(Money.of(Decimal(hours) * Decimal(rate), currency)),
        cost_amount=money_to_proto(Money.of(Decimal(hours) * 50, currency)),
        billable=billable,
    )


@dataclass
class Engagement:
    id: str
    currency: str
    customer_id: str
    version: int = 1
    milestones: list[project_pb.Milestone] = field(default_factory=list)

    def bump(self) -> int:
        self.version += 1
        return self.version


@dataclass
class FakeProducers:
    js: JetStreamContext

    async def publish(
        self,
        subject: str,
        aggregate_id: str,
        version: int,
        message: Message,
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        service = subject.split(".")[1]
        return await publish_event(
            self.js,
            service=service,
            subject=subject,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            message=message,
            event_id=event_id,
        )

    def activation(
        self,
        *,
        entity: str = "UK01",
        currency: str = "GBP",
        model: project_pb.BillingModel.ValueType = TM,
        country: str = "GB",
        customer_id: str | None = None,
        terms: int = 30,
        markup: str = "0",
        milestones: tuple[tuple[str, str], ...] = (),
    ) -> tuple[Engagement, project_events.EngagementActivated]:
        """An engagement and its engagement.activated event (not yet published)."""
        engagement_id = str(uuid.uuid4())
        customer_id = customer_id or str(uuid.uuid4())
        planned = [
            project_pb.Milestone(
                id=str(uuid.uuid4()),
                engagement_id=engagement_id,
                name=name,
                amount=money(amount, currency),
                due_date=date_to_proto(dt.date(2025, 6, 30)),
                status=project_pb.MILESTONE_STATUS_PLANNED,
            )
            for name, amount in milestones
        ]
        message = project_events.EngagementActivated(
            engagement_id=engagement_id,
            version=1,
            engagement=project_pb.Engagement(
                id=engagement_id,
                code=f"PRJ-{entity}-2025-{engagement_id[:4]}",
                name=f"Engagement {engagement_id[:8]}",
                status=project_pb.ENGAGEMENT_STATUS_ACTIVE,
                legal_entity=entity,
                currency=currency,
                billing_model=model,
                customer_id=customer_id,
                contract_value=money(
                    sum((Decimal(a) for _, a in milestones), Decimal(0)), currency
                ),
                budget_hours="100" if model == FIXED_FEE else "0",
                milestones=planned,
                payment_terms_days=terms,
                expense_markup_percent=markup,
                version=1,
            ),
            customer=project_events.CustomerSnapshot(
                customer_id=customer_id, name=f"Client in {country}", country=country
            ),
        )
        return Engagement(engagement_id, currency, customer_id, 1, planned), message

    async def activate(self, **terms: Any) -> Engagement:
        engagement, message = self.activation(**terms)
        await self.publish(ACTIVATED, engagement.id, 1, message)
        return engagement

    def time_approval(
        self, engagement: Engagement, entries: list[project_events.RatedTimeEntry]
    ) -> project_events.TimeEntriesApproved:
        return project_events.TimeEntriesApproved(
            engagement_id=engagement.id, version=engagement.bump(), entries=entries
        )

    async def approve_time(
        self, engagement: Engagement, entries: list[project_events.RatedTimeEntry]
    ) -> project_events.TimeEntriesApproved:
        message = self.time_approval(engagement, entries)
        await self.publish(TIME_APPROVED, engagement.id, message.version, message)
        return message

    async def approve_expense(
        self,
        engagement: Engagement,
        amount: str,
        day: dt.date,
        *,
        markup: str = "",
        billable: bool = True,
    ) -> str:
        expense_id = str(uuid.uuid4())
        message = project_events.ExpenseApproved(
            engagement_id=engagement.id,
            version=engagement.bump(),
            expense_id=expense_id,
            person_id=str(uuid.uuid4()),
            date=date_to_proto(day),
            category="Travel",
            description="Train to the client",
            amount=money(amount, engagement.currency),
            markup_percent=markup,
            billable=billable,
        )
        await self.publish(EXPENSE_APPROVED, engagement.id, message.version, message)
        return expense_id

    async def complete_milestone(
        self,
        engagement: Engagement,
        index: int,
        day: dt.date,
        model: project_pb.BillingModel.ValueType,
    ) -> str:
        planned = engagement.milestones[index]
        message = project_events.MilestoneCompleted(
            engagement_id=engagement.id,
            version=engagement.bump(),
            milestone_id=planned.id,
            name=planned.name,
            amount=planned.amount,
            completed_on=date_to_proto(day),
            billing_model=model,
        )
        await self.publish(MILESTONE_COMPLETED, engagement.id, message.version, message)
        return planned.id

    async def update_customer(
        self, customer_id: str, version: int, *, name: str, country: str
    ) -> None:
        customer = customer_pb.Customer(id=customer_id, name=name, country=country, version=version)
        message = customer_events.CustomerUpdated(
            customer_id=customer_id, version=version, customer=customer
        )
        await self.publish(CUSTOMER_UPDATED, customer_id, version, message)

    async def merge_customers(
        self, survivor_id: str, merged_id: str, version: int, *, name: str, country: str
    ) -> None:
        survivor = customer_pb.Customer(
            id=survivor_id, name=name, country=country, merged_ids=[merged_id], version=version
        )
        message = customer_events.CustomerMerged(
            survivor_id=survivor_id, version=version, merged_id=merged_id, survivor=survivor
        )
        await self.publish(CUSTOMER_MERGED, survivor_id, version, message)


def amount(message: money_pb2.Money) -> Decimal:
    return money_from_proto(message).amount


@dataclass
class Billing:
    """A billing service running in this event loop, with the producers that feed it."""

    stub: pb_grpc.BillingServiceStub
    db: asyncpg.Pool
    producers: FakeProducers

    async def unbilled(self, engagement: Engagement, count: int) -> pb.GetUnbilledResponse:
        """GetUnbilled once the consumer has brought the engagement to `count` items."""

        async def probe() -> pb.GetUnbilledResponse | None:
            try:
                answer: pb.GetUnbilledResponse = await self.stub.GetUnbilled(
                    pb.GetUnbilledRequest(engagement_id=engagement.id)
                )
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:  # not activated in billing yet
                    return None
                raise
            return answer

        found = await eventually(
            probe,
            until=lambda r: r is not None and len(r.items) == count,
            what=f"{count} unbilled items of {engagement.id}",
        )
        assert found is not None
        return found

    async def run(
        self, cutoff: dt.date, engagement: Engagement | None = None, **fields: Any
    ) -> list[pb.Invoice]:
        answer = await self.stub.RunBilling(
            pb.RunBillingRequest(
                cutoff=date_to_proto(cutoff),
                engagement_id=engagement.id if engagement else "",
                **fields,
            )
        )
        return list(answer.invoices)

    async def draft(self, engagement: Engagement, cutoff: dt.date) -> pb.Invoice:
        [invoice] = await self.run(cutoff, engagement)
        return invoice

    async def issue(self, invoice: pb.Invoice, day: dt.date) -> pb.Invoice:
        answer = await self.stub.IssueInvoice(
            pb.IssueInvoiceRequest(id=invoice.id, issue_date=date_to_proto(day))
        )
        issued: pb.Invoice = answer.invoice
        return issued

    async def invoice(self, invoice_id: str) -> pb.Invoice:
        found: pb.Invoice = (
            await self.stub.GetInvoice(pb.GetInvoiceRequest(id=invoice_id))
        ).invoice
        return found

    async def rows(self) -> dict[str, int]:
        """Rows of every table a write may touch, to prove a refused request wrote nothing."""
        tables = (
            "invoices",
            "invoice_items",
            "payments",
            "number_sequences",
            "idempotent_requests",
            "outbox",
        )
        row = await self.db.fetchrow(
            "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in tables)
        )
        assert row is not None
        return dict(row)

    async def settled(self, stream: str = "PROJECT") -> None:
        """Every event of the stream delivered and acknowledged by billing."""
        durable = f"billing-{stream.lower()}"

        async def done() -> bool:
            try:
                info = await self.producers.js.consumer_info(stream, durable)
            except NotFoundError:
                return False
            return bool(info.num_pending == 0 and info.num_ack_pending == 0)

        await eventually(done, what=f"{durable} to settle")


@contextlib.asynccontextmanager
async def running_billing(
    database_url: str,
    nats_url: str,
    data_dir: Path,
    entities: LegalEntities = DEFAULT_LEGAL_ENTITIES,
    **env: str,
) -> AsyncIterator[Billing]:
    """Billing in-process on a free port, its own database, the PROJECT and CUSTOMER streams."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        for domain in ("project", "customer"):
            await ensure_stream(js, domain)
        settings, _ = settings_for(
            database_url,
            nats_url,
            data_dir,
            WEFTWORK_LEGAL_ENTITIES=dump_legal_entities(entities),
            **env,
        )
        async with (
            serving(SPEC, settings) as (port, ctx),
            open_channel(f"127.0.0.1:{port}", deadline_seconds=10) as channel,
        ):
            yield Billing(pb_grpc.BillingServiceStub(channel), ctx.pool, FakeProducers(js))
    finally:
        await client.close()
