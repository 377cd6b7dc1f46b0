"""Real services over mutual TLS: each certificate calls only what its service may call.

Customer and project run in this loop with the local stack's certificates (devstack.certs);
project dials customer with its own certificate, the test dials as gateway, billing and
nobody. Everything crosses real sockets, PostgreSQL and NATS.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.certs import ensure_certificates
from mesh.grpc.client import open_channel
from mesh.service import ServiceSpec, running_service
from mesh.settings import Settings
from services.customer.main import SPEC as CUSTOMER
from services.project.main import FULL_NAME as PROJECT_API
from services.project.main import SPEC as PROJECT
from tests.conftest import Stack
from tests.integration.test_project_grpc import PEOPLE, entry, won
from tests.support import rpc_error, settings_for
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.customer.v1 import customer_service_pb2_grpc as customer_grpc
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class Mesh:
    settings: Settings
    ports: dict[str, int]
    project_health_port: int

    def channel(self, service: str, identity: str | None) -> grpc.aio.Channel:
        return open_channel(
            f"127.0.0.1:{self.ports[service]}",
            deadline_seconds=10,
            tls=None if identity is None else self.settings.tls_identity(identity),
            server_name=service,
        )

    def project(self, identity: str) -> tuple[grpc.aio.Channel, pb_grpc.ProjectServiceStub]:
        channel = self.channel("project", identity)
        return channel, pb_grpc.ProjectServiceStub(channel)


@dataclasses.dataclass
class _Started:
    port: int
    health_port: int | None


@contextlib.asynccontextmanager
async def _serving(spec: ServiceSpec, settings: Settings) -> AsyncIterator[_Started]:
    async with running_service(spec, settings, port=0) as (server, _):
        await server.start()
        try:
            yield _Started(server.port, server.health_port)
        finally:
            await server.stop()


@pytest.fixture(scope="module")
async def mesh(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Mesh]:
    tls = tmp_path_factory.mktemp("tls")
    ensure_certificates(tls)
    settings, _ = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("identity"),
        WEFTWORK_TLS_DIR=str(tls),
        WEFTWORK_PROJECT_HEALTH_PORT="0",  # any free port: a probe's plaintext door
    )
    async with _serving(CUSTOMER, settings) as customer:
        # Project dials customer where it came up.
        ports = {**settings.grpc_ports, "customer": customer.port}
        project_settings = dataclasses.replace(settings, grpc_ports=ports)
        async with _serving(PROJECT, project_settings) as project:
            assert project.health_port is not None
            running = Mesh(
                project_settings,
                {"customer": customer.port, "project": project.port},
                project.health_port,
            )
            channel, stub = running.project("gateway")
            async with channel:
                for person_id, name, entity in PEOPLE:
                    person = pb.Person(id=person_id, name=name, home_entity=entity)
                    await stub.UpsertPerson(pb.UpsertPersonRequest(person=person))
            yield running


@pytest.fixture
async def gateway(mesh: Mesh) -> AsyncIterator[pb_grpc.ProjectServiceStub]:
    channel, stub = mesh.project("gateway")
    async with channel:
        yield stub


async def test_the_gateway_closes_a_deal_and_project_resolves_its_customer_over_mtls(
    gateway: pb_grpc.ProjectServiceStub,
) -> None:
    answer = await gateway.CreateEngagementFromOpportunity(won())
    assert answer.engagement.customer_id
    assert answer.customer_matched_by == customer_pb.MATCH_RULE_CREATED


async def test_billing_may_not_approve_time_and_the_gateway_may(
    mesh: Mesh, gateway: pb_grpc.ProjectServiceStub
) -> None:
    created = await gateway.CreateEngagementFromOpportunity(won())
    submitted = await gateway.SubmitTime(
        pb.SubmitTimeRequest(entries=[entry(created.engagement, hours="3")])
    )
    ids = [t.id for t in submitted.time_entries]

    channel, as_billing = mesh.project("billing")
    async with channel:
        code, message, _ = await rpc_error(as_billing.ApproveTime(pb.ApproveTimeRequest(ids=ids)))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert message == f"billing may not call /{PROJECT_API}/ApproveTime"
    still = await gateway.BatchGetTimeEntries(pb.BatchGetTimeEntriesRequest(ids=ids))
    assert [t.status for t in still.time_entries] == [pb.TIME_ENTRY_STATUS_SUBMITTED]

    approved = await gateway.ApproveTime(pb.ApproveTimeRequest(ids=ids))
    assert [t.status for t in approved.time_entries] == [pb.TIME_ENTRY_STATUS_APPROVED]


async def test_project_may_resolve_customers_but_not_merge_them(mesh: Mesh) -> None:
    async with mesh.channel("customer", "project") as channel:
        customers = customer_grpc.CustomerServiceStub(channel)
        code, _, _ = await rpc_error(
            customers.MergeCustomers(
                customer_pb.MergeCustomersRequest(survivor_id="a", merged_id="b")
            )
        )
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_a_call_without_a_client_certificate_fails_the_handshake(mesh: Mesh) -> None:
    async with mesh.channel("project", None) as plaintext:
        stub = pb_grpc.ProjectServiceStub(plaintext)
        code, _, _ = await rpc_error(stub.CreateEngagementFromOpportunity(won()))
    assert code == grpc.StatusCode.UNAVAILABLE


async def test_probes_read_health_in_plaintext_on_the_health_port(mesh: Mesh) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.project_health_port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=PROJECT_API), timeout=5
        )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        code, _, _ = await rpc_error(
            pb_grpc.ProjectServiceStub(channel).SubmitTime(pb.SubmitTimeRequest())
        )
    assert code == grpc.StatusCode.UNIMPLEMENTED


async def _audit_rows(mesh: Mesh, service: str, request_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(mesh.settings.database_url_for(service))
    try:
        return list(
            await conn.fetch(
                "SELECT actor, operation FROM audit_log WHERE request_id = $1", request_id
            )
        )
    finally:
        await conn.close()


async def test_the_actor_the_gateway_asserts_is_recorded_and_forwarded_service_to_service(
    mesh: Mesh, gateway: pb_grpc.ProjectServiceStub
) -> None:
    metadata = (("weftwork-actor", "sam@sales"), ("x-request-id", "req-mtls-1"))
    await gateway.CreateEngagementFromOpportunity(won(), metadata=metadata)
    [(actor, operation)] = await _audit_rows(mesh, "project", "req-mtls-1")
    assert (actor, operation) == ("sam@sales", f"{PROJECT_API}/CreateEngagementFromOpportunity")
    # Project resolved the customer for sam: customer records sam too, in the same request.
    [(actor, operation)] = await _audit_rows(mesh, "customer", "req-mtls-1")
    assert actor == "sam@sales" and operation.endswith("/ResolveCustomer")


async def test_a_call_that_names_no_actor_is_the_calling_services_own(
    mesh: Mesh, gateway: pb_grpc.ProjectServiceStub
) -> None:
    person = pb.Person(id="p-own", name="Own", home_entity="US01")
    await gateway.UpsertPerson(
        pb.UpsertPersonRequest(person=person), metadata=(("x-request-id", "req-mtls-2"),)
    )
    assert [tuple(r) for r in await _audit_rows(mesh, "project", "req-mtls-2")] == [
        ("service:gateway", f"{PROJECT_API}/UpsertPerson")
    ]
