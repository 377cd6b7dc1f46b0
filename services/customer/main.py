"""Composition root of the customer service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import asyncpg

from mesh.db import in_transaction, on_connection
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from services.customer.grpc_api import CustomerServicer
from services.customer.handlers import CustomerRepository
from services.customer.store import CustomerStore
from weftwork.customer.v1 import customer_service_pb2, customer_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = customer_service_pb2.DESCRIPTOR.services_by_name["CustomerService"].full_name


def transactor(
    pool: asyncpg.Pool, *, read_only: bool = False
) -> Callable[[Callable[[CustomerRepository], Awaitable[T]]], Awaitable[T]]:
    """Runs a use case with a repository bound to one transaction (rerun on conflicts); a
    read_only one on a connection without a transaction (see mesh.db.on_connection)."""

    async def transact(work: Callable[[CustomerRepository], Awaitable[T]]) -> T:
        def bound(conn: asyncpg.Connection) -> Awaitable[T]:
            return work(CustomerStore(conn))

        if read_only:
            return await on_connection(pool, bound)
        return await in_transaction(pool, bound)

    return transact


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    servicer = CustomerServicer(transactor(ctx.pool), transactor(ctx.pool, read_only=True))
    return [
        ServiceBinding(
            FULL_NAME, customer_service_pb2_grpc.add_CustomerServiceServicer_to_server, servicer
        )
    ]


# Project resolves the customer of a won deal (DESIGN.md §1); the rest is the gateway's.
CALLERS = gateway_and(FULL_NAME, {"ResolveCustomer": {"project"}})
SPEC = ServiceSpec(
    name="customer", directory=Path(__file__).parent, bindings=bindings, callers=CALLERS
)


def main() -> None:
    run(SPEC)
