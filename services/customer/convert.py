"""Customer aggregate <-> protobuf messages, and request ids parsed with field-precise errors."""

from __future__ import annotations

import base64
import binascii
import uuid

from mesh import requests
from mesh.errors import InvalidArgument
from mesh.grpc.convert import timestamp_to_proto
from services.customer.domain.model import Customer, ExternalRef, MatchRule
from weftwork.customer.v1 import customer_service_pb2 as pb

MATCH_RULES = {
    MatchRule.EXTERNAL_REF: pb.MATCH_RULE_EXTERNAL_REF,
    MatchRule.TAX_ID: pb.MATCH_RULE_TAX_ID,
    MatchRule.DOMAIN: pb.MATCH_RULE_DOMAIN,
    MatchRule.NAME: pb.MATCH_RULE_NAME,
    MatchRule.CREATED: pb.MATCH_RULE_CREATED,
}


def customer_to_proto(customer: Customer) -> pb.Customer:
    return pb.Customer(
        id=str(customer.id),
        name=customer.name,
        domain=customer.domain or "",
        tax_id=customer.tax_id or "",
        country=customer.country,
        external_refs=[pb.ExternalRef(system=r.system, id=r.id) for r in customer.external_refs],
        merged_ids=[str(i) for i in customer.merged_ids],
        version=customer.version,
        create_time=timestamp_to_proto(customer.created_at),
        update_time=timestamp_to_proto(customer.updated_at),
    )


def parse_id(value: str, field: str) -> uuid.UUID:
    return requests.parse_id(value, field, kind="a customer id")


def parse_ids(values: list[str], field: str) -> list[uuid.UUID]:
    return requests.parse_ids(values, field, kind="a customer id")


def ref_from_proto(message: pb.ExternalRef) -> ExternalRef:
    return ExternalRef(message.system, message.id)


def encode_cursor(cursor: tuple[str, uuid.UUID] | None) -> str:
    if cursor is None:
        return ""
    raw = f"{cursor[1]}:{cursor[0]}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(token: str) -> tuple[str, uuid.UUID] | None:
    if not token:
        return None
    try:
        customer_id, _, name = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return name, uuid.UUID(customer_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument.one("page_token", "is not a token this service issued") from None
