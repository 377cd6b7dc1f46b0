"""Per-request DataLoaders: each turns the ids asked for in one tick into one batch gRPC call.

Where a service has no batch RPC (an engagement's lineage, its pages of time entries and
expenses), the keys of one tick are fetched concurrently, at most FANOUT calls at a time per
request, so a page of engagements costs a bounded burst instead of a call storm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar, cast

from strawberry.dataloader import DataLoader

from gateway.clients import ServiceClients
from gateway.errors import call
from weftwork.billing.v1 import billing_service_pb2 as billing_pb
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.mesh.v1 import lineage_service_pb2 as lineage_pb
from weftwork.project.v1 import project_service_pb2 as project_pb
from weftwork.revenue.v1 import revenue_service_pb2 as revenue_pb

T = TypeVar("T")
K = TypeVar("K")
M = TypeVar("M")
FANOUT = 8  # gRPC calls in flight at once for one request's unbatched fan-out
# Services whose events can belong to an engagement (customer events never do).
PRODUCERS = ("project", "billing", "revenue")
LINEAGE_PAGE = 500

# (engagement id, status, page size, page token) and (engagement id, page size, page token)
EntriesPage = tuple[str, int, int, str]
ExpensesPage = tuple[str, int, str]


class Loaders:
    def __init__(self, clients: ServiceClients) -> None:
        self.clients = clients
        self._fanout = asyncio.Semaphore(FANOUT)
        # The ids this request read through a loader: the response cache's tags (gateway/cache.py)
        self.read: set[str] = set()
        self.timelines = DataLoader(load_fn=self._tagged(self._timelines))
        self.time_entry_pages = DataLoader(load_fn=self._tagged(self._time_entry_pages))
        self.expense_pages = DataLoader(load_fn=self._tagged(self._expense_pages))
        self.customers = DataLoader(load_fn=self._tagged(self._customers))
        self.engagements = DataLoader(load_fn=self._tagged(self._engagements))
        self.invoices_by_engagement = DataLoader(load_fn=self._tagged(self._invoices_by_engagement))
        self.invoices = DataLoader(load_fn=self._tagged(self._invoices))
        self.positions = DataLoader(load_fn=self._tagged(self._positions))
        self.time_entries = DataLoader(load_fn=self._tagged(self._time_entries))
        # Output objects made from a loaded message, so each is converted once per request.
        self._converted: dict[tuple[object, int], tuple[object, object]] = {}

    def converted(self, message: M, convert: Callable[[M], T]) -> T:
        """`convert(message)`, once per message and conversion in this request (a customer
        of 25 engagements on a page is converted once, not 25 times)."""
        key = (convert, id(message))
        held = self._converted.get(key)
        if held is None or held[0] is not message:  # the message is kept: its id stays its own
            held = self._converted[key] = (message, convert(message))
        return cast(T, held[1])

    def _tagged(
        self, load: Callable[[Sequence[K]], Awaitable[Sequence[T]]]
    ) -> Callable[[list[K]], Awaitable[Sequence[T]]]:
        """The load function, recording each key's id (a page's key starts with its owner's)."""

        def tagged(keys: list[K]) -> Awaitable[Sequence[T]]:
            self.read.update(str(k[0] if isinstance(k, tuple) else k) for k in keys)
            return load(keys)

        return tagged

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

    async def _bounded(self, service: str, start: Callable[[], Awaitable[T]]) -> T:
        # `start` makes the call: a grpc.aio call is on the wire as soon as it is created.
        async with self._fanout:
            return await call(service, start())

    async def _timelines(
        self, engagement_ids: Sequence[str]
    ) -> list[list[lineage_pb.LineageEvent]]:
        return await asyncio.gather(*(self._timeline(i) for i in engagement_ids))

    async def _timeline(self, engagement_id: str) -> list[lineage_pb.LineageEvent]:
        """Every producer's events for one engagement, by commit time (ties by producer order)."""
        answers = await asyncio.gather(*(self._lineage(s, engagement_id) for s in PRODUCERS))
        events = [e for events in answers for e in events]
        return sorted(events, key=lambda e: (e.time.seconds, e.time.nanos))

    async def _lineage(self, service: str, engagement_id: str) -> list[lineage_pb.LineageEvent]:
        stub = self.clients.lineage[service]
        events: list[lineage_pb.LineageEvent] = []
        token = ""
        while True:
            request = lineage_pb.ListEngagementEventsRequest(
                engagement_id=engagement_id, page_size=LINEAGE_PAGE, page_token=token
            )
            page = await self._bounded(service, partial(stub.ListEngagementEvents, request))
            events += page.events
            token = page.next_page_token
            if not token:
                return events

    async def _time_entry_pages(
        self, keys: Sequence[EntriesPage]
    ) -> list[project_pb.ListTimeEntriesResponse]:
        stub = self.clients.project
        requests = [
            project_pb.ListTimeEntriesRequest(
                engagement_id=engagement_id,
                status=cast(project_pb.TimeEntryStatus.ValueType, status),
                page_size=size,
                page_token=token,
            )
            for engagement_id, status, size, token in keys
        ]
        pages: list[project_pb.ListTimeEntriesResponse] = await asyncio.gather(
            *(self._bounded("project", partial(stub.ListTimeEntries, r)) for r in requests)
        )
        return pages

    async def _expense_pages(
        self, keys: Sequence[ExpensesPage]
    ) -> list[project_pb.ListExpensesResponse]:
        stub = self.clients.project
        requests = [
            project_pb.ListExpensesRequest(engagement_id=i, page_size=size, page_token=token)
            for i, size, token in keys
        ]
        pages: list[project_pb.ListExpensesResponse] = await asyncio.gather(
            *(self._bounded("project", partial(stub.ListExpenses, r)) for r in requests)
        )
        return pages
