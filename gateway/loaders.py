"""Per-request DataLoaders: each turns the ids asked for in one tick into one batch gRPC call."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from gateway.clients import ServiceClients
from gateway.errors import call
from weftwork.customer.v1 import customer_service_pb2 as customer_pb


class Loaders:
    def __init__(self, clients: ServiceClients) -> None:
        self.clients = clients
        self.customers = DataLoader(load_fn=self._customers)

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
