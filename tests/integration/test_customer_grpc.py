"""The customer service over real gRPC, PostgreSQL and NATS JetStream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import grpc
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_binary
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from mesh.grpc.client import open_channel
from services.customer.main import FULL_NAME, SPEC
from tests.conftest import Stack
from tests.support import ProtobufFormat, eventually, rpc_error, serving, settings_for
from weftwork.customer.v1 import customer_service_pb2 as pb
from weftwork.customer.v1 import customer_service_pb2_grpc as pb_grpc
from weftwork.customer.v1 import events_pb2


@dataclass
class Running:
    stub: pb_grpc.CustomerServiceStub
    channel: grpc.aio.Channel
    db: asyncpg.Pool
    nats_url: str


@pytest.fixture(scope="module")
async def customer(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    settings, _ = settings_for(stack.database_url, module_nats, tmp_path_factory.mktemp("c"))
    async with (
        serving(SPEC, settings) as (port, ctx),
        open_channel(f"127.0.0.1:{port}", deadline_seconds=5) as channel,
    ):
        yield Running(pb_grpc.CustomerServiceStub(channel), channel, ctx.pool, module_nats)


def ref(system: str, ref_id: str) -> pb.ExternalRef:
    return pb.ExternalRef(system=system, id=ref_id)


async def resolve(c: Running, **fields: Any) -> pb.ResolveCustomerResponse:
    answer: pb.ResolveCustomerResponse = await c.stub.ResolveCustomer(
        pb.ResolveCustomerRequest(**fields)
    )
    return answer


async def test_health_is_serving_and_reflection_lists_the_service(customer: Running) -> None:
    health = health_pb2_grpc.HealthStub(customer.channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service=FULL_NAME))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflect = reflection_pb2_grpc.ServerReflectionStub(customer.channel)
    names: list[str] = []
    async for reply in reflect.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    ):
        names = [s.name for s in reply.list_services_response.service]
    assert "weftwork.customer.v1.CustomerService" in names


async def test_one_account_through_every_rule_is_one_customer(customer: Running) -> None:
    created = await resolve(
        customer,
        external_ref=ref("salesforce", "0017-north"),
        name="Northwind Traders Ltd",
        country="GB",
        domain="https://www.northwind.co.uk/",
        tax_id="GB 123-456-789",
    )
    assert (created.matched_by, created.created) == (pb.MATCH_RULE_CREATED, True)
    assert created.customer.domain == "northwind.co.uk"
    assert created.customer.tax_id == "GB123456789"
    cases: list[tuple[dict[str, Any], int]] = [
        (
            {"external_ref": ref("salesforce", "0017-north"), "name": "x", "country": "US"},
            pb.MATCH_RULE_EXTERNAL_REF,
        ),
        ({"name": "Other", "country": "GB", "tax_id": "gb123456789"}, pb.MATCH_RULE_TAX_ID),
        ({"name": "Other", "country": "FR", "domain": "NORTHWIND.CO.UK"}, pb.MATCH_RULE_DOMAIN),
        (
            {"name": "northwind traders", "country": "GB", "external_ref": ref("netsuite", "C-9")},
            pb.MATCH_RULE_NAME,
        ),
        (
            {"name": "Renamed", "country": "US", "external_ref": ref("netsuite", "C-9")},
            pb.MATCH_RULE_EXTERNAL_REF,
        ),
    ]
    for fields, rule in cases:
        answer = await resolve(customer, **fields)
        assert (answer.customer.id, answer.matched_by, answer.created) == (
            created.customer.id,
            rule,
            False,
        )
    fetched = (
        await customer.stub.GetCustomer(pb.GetCustomerRequest(id=created.customer.id))
    ).customer
    assert {(r.system, r.id) for r in fetched.external_refs} == {
        ("salesforce", "0017-north"),
        ("netsuite", "C-9"),
    }
    assert fetched.version == 2  # created, then the netsuite ref linked


async def _counts(db: asyncpg.Pool) -> tuple[int, int, int]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM customers) a, (SELECT count(*) FROM external_refs) b,"
        " (SELECT count(*) FROM outbox) c"
    )
    assert row is not None
    return (row["a"], row["b"], row["c"])


BAD_RESOLVES = [
    ({"name": "   ", "country": "US"}, "name"),
    ({"name": "", "country": "US"}, "name"),
    ({"name": "Acme", "country": "USA"}, "country"),
    ({"name": "Acme", "country": "QQ"}, "country"),
    (
        {"name": "Acme", "country": "US", "external_ref": {"system": "Sales Force!", "id": "1"}},
        "external_ref.system",
    ),
    (
        {"name": "Acme", "country": "US", "external_ref": {"system": "salesforce", "id": ""}},
        "external_ref.id",
    ),
    ({"name": "A" * 201, "country": "US"}, "name"),
    ({"name": "Acme", "country": "US", "domain": "x" * 300 + ".com"}, "domain"),
    ({"name": "Acme", "country": "US", "tax_id": "T" * 33}, "tax_id"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_RESOLVES)
async def test_bad_resolve_input_is_invalid_argument_and_writes_nothing(
    customer: Running, fields: dict[str, Any], field: str
) -> None:
    before = await _counts(customer.db)
    code, _, violations = await rpc_error(resolve(customer, **fields))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in violations] == [field]
    assert await _counts(customer.db) == before


async def test_bad_ids_and_pages_get_precise_errors(customer: Running) -> None:
    stub = customer.stub
    before = await _counts(customer.db)
    unknown = "3f0c9f0e-2a4b-4f59-9d7a-8a4c2b1d0e11"
    code, _, violations = await rpc_error(stub.GetCustomer(pb.GetCustomerRequest(id="not-a-uuid")))
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, ["id"])
    code, message, _ = await rpc_error(stub.GetCustomer(pb.GetCustomerRequest(id=unknown)))
    assert code == grpc.StatusCode.NOT_FOUND
    assert unknown in message
    code, _, violations = await rpc_error(
        stub.ListCustomers(pb.ListCustomersRequest(page_size=101))
    )
    assert (code, [v.field for v in violations]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["page_size"],
    )
    code, _, violations = await rpc_error(
        stub.ListCustomers(pb.ListCustomersRequest(page_token="garbage!"))
    )
    assert (code, [v.field for v in violations]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["page_token"],
    )
    code, _, _ = await rpc_error(
        stub.UpdateCustomer(pb.UpdateCustomerRequest(customer_id=unknown, name="New"))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert await _counts(customer.db) == before


async def test_merges_keep_aliases_move_refs_and_refuse_bad_requests(customer: Running) -> None:
    stub = customer.stub
    a = (
        await resolve(
            customer, name="Merge Alpha", country="US", external_ref=ref("hubspot", "m-a")
        )
    ).customer
    b = (
        await resolve(customer, name="Merge Beta", country="US", external_ref=ref("hubspot", "m-b"))
    ).customer
    c = (await resolve(customer, name="Merge Gamma", country="US")).customer
    before = await _counts(customer.db)
    code, _, violations = await rpc_error(
        stub.MergeCustomers(pb.MergeCustomersRequest(survivor_id=a.id, merged_id=a.id))
    )
    assert (code, [v.field for v in violations]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["merged_id"],
    )
    assert await _counts(customer.db) == before

    survivor = (
        await stub.MergeCustomers(pb.MergeCustomersRequest(survivor_id=a.id, merged_id=b.id))
    ).customer
    assert list(survivor.merged_ids) == [b.id]
    assert {(r.system, r.id) for r in survivor.external_refs} == {
        ("hubspot", "m-a"),
        ("hubspot", "m-b"),
    }
    # The merged id is an alias: every lookup follows it.
    assert (await stub.GetCustomer(pb.GetCustomerRequest(id=b.id))).customer.id == a.id
    batch = await stub.BatchGetCustomers(pb.BatchGetCustomersRequest(ids=[b.id, c.id, a.id]))
    assert [x.id for x in batch.customers] == [a.id, c.id, a.id]
    assert not batch.missing_ids
    by_ref = await resolve(
        customer, name="Whatever", country="US", external_ref=ref("hubspot", "m-b")
    )
    assert (by_ref.customer.id, by_ref.matched_by) == (a.id, pb.MATCH_RULE_EXTERNAL_REF)

    before = await _counts(customer.db)
    code, _, _ = await rpc_error(
        stub.MergeCustomers(pb.MergeCustomersRequest(survivor_id=b.id, merged_id=c.id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # b is an alias now
    code, _, _ = await rpc_error(
        stub.MergeCustomers(pb.MergeCustomersRequest(survivor_id=c.id, merged_id=b.id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # b was already merged into a
    assert await _counts(customer.db) == before


async def test_listing_pages_through_every_customer_once(customer: Running) -> None:
    for i in range(7):
        await resolve(customer, name=f"Paging Co {i:02d}", country="DE")
    seen: list[str] = []
    token = ""
    while True:
        page = await customer.stub.ListCustomers(
            pb.ListCustomersRequest(page_size=3, page_token=token, search="paging co")
        )
        seen.extend(c.name for c in page.customers)
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"Paging Co {i:02d}" for i in range(7)]
    await resolve(customer, name="Findable", country="DE", domain="listing-search.example")
    found = await customer.stub.ListCustomers(pb.ListCustomersRequest(search="LISTING-search"))
    assert [c.name for c in found.customers] == ["Findable"]


async def test_every_event_is_a_readable_cloudevent(customer: Running) -> None:
    import nats

    created = (
        await resolve(
            customer, name="Event Probe Inc", country="US", external_ref=ref("hubspot", "ev-1")
        )
    ).customer
    await customer.stub.UpdateCustomer(
        pb.UpdateCustomerRequest(customer_id=created.id, domain="probe.example")
    )
    nc = await nats.connect(customer.nats_url)
    js = nc.jetstream()
    sub = await js.subscribe("weftwork.customer.>", ordered_consumer=True)

    received: list[object] = []

    async def two_for_probe() -> list[object]:
        try:
            msg = await sub.next_msg(timeout=0.5)
        except TimeoutError:
            return received
        if (msg.headers or {}).get("ce-subject") == created.id:
            received.append(msg)
        return received

    await eventually(
        two_for_probe, until=lambda got: len(got) >= 2, what="two events of the probe customer"
    )
    await nc.close()
    kinds = []
    for msg in received:
        headers = dict(msg.headers)  # type: ignore[attr-defined]
        assert headers["Nats-Msg-Id"] == headers["ce-id"]
        assert headers["ce-specversion"] == "1.0"
        assert headers["ce-source"] == "/weftwork/customer"
        assert headers["ce-type"] == msg.subject  # type: ignore[attr-defined]
        assert headers["ce-datacontenttype"] == "application/protobuf"
        assert headers["Content-Type"] == "application/protobuf"
        assert len(headers["traceparent"].split("-")) == 4
        # An independent reader: the CloudEvents SDK's binary-mode binding, then the proto class.
        event = from_binary(HTTPMessage(headers=headers, body=msg.data), ProtobufFormat())  # type: ignore[attr-defined]
        assert event.get_id() == headers["ce-id"]
        assert event.get_subject() == created.id
        assert event.get_type() == msg.subject  # type: ignore[attr-defined]
        data = event.get_data()
        assert isinstance(data, bytes)
        kinds.append(event.get_type())
        message_type = (
            events_pb2.CustomerCreated
            if event.get_type().endswith("created.v1")
            else events_pb2.CustomerUpdated
        )
        payload = message_type.FromString(data)
        assert payload.customer_id == created.id
        assert payload.customer.id == created.id
        assert int(event.get_extension("aggregateversion")) == payload.version
    assert kinds == [
        "weftwork.customer.customer.created.v1",
        "weftwork.customer.customer.updated.v1",
    ]
