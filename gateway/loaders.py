"""Per-request DataLoaders: each turns the ids asked for in one tick into one batch gRPC call."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from gateway.clients import ServiceClients
from gateway.errors import call
from weftwork.billing.v1 import billing_service_pb2 as billing_pb
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import project_service_pb2 as project_pb
from weftwork.revenue.v1 import revenue_service_pb2 as revenue_pb


class Loaders:
    def __init__(self, clients: ServiceClients) -> None:
        self.clients = clients
        self.customers = DataLoader(load_fn=self._customers)
        self.engagements = DataLoader(load_fn=self._engagements)
        self.invoices_by_engagement = DataLoader(load_fn=self._invoices_by_engagement)
        self.invoices = DataLoader(load_fn=self._invoices)
        self.positions = DataLoader(load_fn=self._positions)
        self.time_entries = DataLoader(load_fn=self._time_entries)

    async def _customers(self, ids: Sequence[str]) -> list[customer_pb.Customer | None]:
        answer = await call(
            "customer",
            self.clients.customer.BatchGetCustomers(customer_pb.BatchGetCustomersRequest(ids=ids)),
        )
        # Merged ids come back as their survivor: match by id or alias.
        by_id: dict[str, customer_pb.Customer] = {}
        for customer in answer.customers:
            by_id[customer.id] = customer
            for alias in customer.merged_ids:
                by_id[alias] = customer
        return [by_id.get(i) for i in ids]

    async def _engagements(self, ids: Sequence[str]) -> list[project_pb.Engagement | None]:
        answer = await call(
            "project",
            self.clients.project.BatchGetEngagements(
                project_pb.BatchGetEngagementsRequest(ids=ids)
            ),
        )
        by_id = {e.id: e for e in answer.engagements}
        return [by_id.get(i) for i in ids]

    async def _invoices_by_engagement(
        self, engagement_ids: Sequence[str]
    ) -> list[billing_pb.EngagementInvoices]:
        """Each engagement's invoices, and whether billing has set the engagement up at all."""
        answer = await call(
            "billing",
            self.clients.billing.BatchGetInvoicesByEngagement(
                billing_pb.BatchGetInvoicesByEngagementRequest(engagement_ids=engagement_ids)
            ),
        )
        by_id = {e.engagement_id: e for e in answer.engagements}
        return [
            by_id.get(i) or billing_pb.EngagementInvoices(engagement_id=i) for i in engagement_ids
        ]

    async def _invoices(self, ids: Sequence[str]) -> list[billing_pb.Invoice | None]:
        answer = await call(
            "billing",
            self.clients.billing.BatchGetInvoices(billing_pb.BatchGetInvoicesRequest(ids=ids)),
        )
        by_id = {i.id: i for i in answer.invoices}
        return [by_id.get(i) for i in ids]

    async def _positions(self, engagement_ids: Sequence[str]) -> list[revenue_pb.Position | None]:
        """None for an engagement revenue has not set up yet."""
        answer = await call(
            "revenue",
            self.clients.revenue.BatchGetPositions(
                revenue_pb.BatchGetPositionsRequest(engagement_ids=engagement_ids)
            ),
        )
        by_id = {p.engagement_id: p for p in answer.positions}
        return [by_id.get(i) for i in engagement_ids]

    async def _time_entries(self, ids: Sequence[str]) -> list[project_pb.TimeEntry | None]:
        answer = await call(
            "project",
            self.clients.project.BatchGetTimeEntries(
                project_pb.BatchGetTimeEntriesRequest(ids=ids)
            ),
        )
        by_id = {t.id: t for t in answer.time_entries}
        return [by_id.get(i) for i in ids]
