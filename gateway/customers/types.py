"""GraphQL types of the customer domain, read straight from the protobuf messages."""

from __future__ import annotations

import strawberry

from weftwork.customer.v1 import customer_service_pb2 as pb


@strawberry.type
class ExternalRef:
    system: str
    id: str


@strawberry.type
class Customer:
    id: strawberry.ID
    name: str
    domain: str | None
    tax_id: str | None
    country: str
    external_refs: list[ExternalRef]
    merged_ids: list[strawberry.ID]
    version: int

    @classmethod
    def from_proto(cls, message: pb.Customer) -> Customer:
        return cls(
            id=strawberry.ID(message.id),
            name=message.name,
            domain=message.domain or None,
            tax_id=message.tax_id or None,
            country=message.country,
            external_refs=[ExternalRef(system=r.system, id=r.id) for r in message.external_refs],
            merged_ids=[strawberry.ID(i) for i in message.merged_ids],
            version=message.version,
        )
