"""Composition root of the customer service."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from mesh.db import transactor
from mesh.grpc.callers import gateway_and
from mesh.grpc.server import ServiceBinding
from mesh.service import ServiceContext, ServiceSpec, run
from services.customer.grpc_api import CustomerServicer
from services.customer.store import CustomerStore
from weftwork.customer.v1 import customer_service_pb2, customer_service_pb2_grpc

T = TypeVar("T")
FULL_NAME = customer_service_pb2.DESCRIPTOR.services_by_name["CustomerService"].full_name


def bindings(ctx: ServiceContext) -> Sequence[ServiceBinding]:
    servicer = CustomerServicer(
        transactor(ctx.pool, CustomerStore), transactor(ctx.pool, CustomerStore, read_only=True)
    )
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
