"""Customer aggregate <-> protobuf messages, and request ids parsed with field-precise errors."""

from __future__ import annotations

import base64
import binascii
import uuid

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
MAX_BATCH = 1000


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
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument.one(field, f"{value[:64]!r} is not a customer id (a UUID)") from None


def parse_ids(values: list[str], field: str) -> list[uuid.UUID]:
    if len(values) > MAX_BATCH:
        raise InvalidArgument.one(field, f"at most {MAX_BATCH} ids per call")
    return [parse_id(v, f"{field}[{i}]") for i, v in enumerate(values)]


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
