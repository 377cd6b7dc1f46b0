"""The audit trail in one service over real gRPC and PostgreSQL (DESIGN.md §9): a mutation is
recorded with the actor and request id of the call, a read is not, the events carry the actor,
AuditService pages and filters, and no role of the service can change a row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import asyncpg
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from mesh.grpc.client import open_channel
from mesh.migrations import KIT_MIGRATIONS, migrate
from mesh.settings import with_database
from services.customer.main import SPEC
from tests.conftest import Stack
from tests.support import rpc_error, serving, settings_for
from weftwork.customer.v1 import customer_service_pb2 as pb
from weftwork.customer.v1 import customer_service_pb2_grpc as pb_grpc
from weftwork.mesh.v1 import audit_service_pb2 as audit_pb
from weftwork.mesh.v1 import audit_service_pb2_grpc as audit_grpc

RESOLVE = "weftwork.customer.v1.CustomerService/ResolveCustomer"


@dataclass
class Running:
    stub: pb_grpc.CustomerServiceStub
    audit: audit_grpc.AuditServiceStub
    db: asyncpg.Pool


@pytest.fixture(scope="module")
async def customer(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    settings, _ = settings_for(stack.database_url, module_nats, tmp_path_factory.mktemp("a"))
    async with (
        serving(SPEC, settings) as (port, ctx),
        open_channel(f"127.0.0.1:{port}", deadline_seconds=5) as channel,
    ):
        yield Running(
            pb_grpc.CustomerServiceStub(channel), audit_grpc.AuditServiceStub(channel), ctx.pool
        )


def as_user(actor: str, request_id: str) -> list[tuple[str, str]]:
    return [("weftwork-actor", actor), ("x-request-id", request_id)]


async def resolve(c: Running, name: str, actor: str, request_id: str) -> pb.Customer:
    answer = await c.stub.ResolveCustomer(
        pb.ResolveCustomerRequest(
            external_ref=pb.ExternalRef(system="hubspot", id=name), name=name, country="GB"
        ),
        metadata=as_user(actor, request_id),
    )
    customer: pb.Customer = answer.customer
    return customer


async def entries(c: Running, **filters: Any) -> list[audit_pb.AuditEntry]:
    answer = await c.audit.ListAuditEntries(audit_pb.ListAuditEntriesRequest(**filters))
    return list(answer.entries)


async def test_a_mutation_is_recorded_with_its_actor_request_and_target(customer: Running) -> None:
    created = await resolve(customer, "Audit One Ltd", "alice@example.com", "req-audit-1")
    [entry] = await entries(customer, actor="alice@example.com")
    assert (entry.operation, entry.service, entry.request_id) == (
        RESOLVE,
        "customer",
        "req-audit-1",
    )
    assert list(entry.targets) == [created.id]
    assert entry.time.seconds > 0 and not entry.on_behalf_of
    # The event it wrote carries the actor and the request id (CloudEvents extensions).
    headers = await customer.db.fetchval(
        "SELECT headers FROM outbox WHERE aggregate_id = $1", created.id
    )
    assert (headers["ce-actor"], headers["ce-requestid"]) == ("alice@example.com", "req-audit-1")


async def test_reads_and_answers_that_change_nothing_are_not_recorded(customer: Running) -> None:
    created = await resolve(customer, "Audit Two Ltd", "bob", "req-audit-2")
    before = await customer.db.fetchval("SELECT count(*) FROM audit_log")
    await customer.stub.GetCustomer(
        pb.GetCustomerRequest(id=created.id), metadata=as_user("bob", "r")
    )
    await resolve(customer, "Audit Two Ltd", "bob", "req-audit-3")  # known ref: nothing written
    assert await customer.db.fetchval("SELECT count(*) FROM audit_log") == before


async def test_a_call_without_an_actor_is_recorded_as_unknown_in_plaintext(
    customer: Running,
) -> None:
    created = await customer.stub.ResolveCustomer(
        pb.ResolveCustomerRequest(
            external_ref=pb.ExternalRef(system="hubspot", id="anon"), name="Anon", country="US"
        )
    )
    [entry] = [
        e for e in await entries(customer, page_size=100) if created.customer.id in e.targets
    ]
    assert entry.actor == "unknown" and not entry.request_id


async def test_entries_page_in_order_and_filter_by_actor_and_time(customer: Running) -> None:
    for n in range(3):
        await resolve(customer, f"Paged {n} Ltd", "carol", f"req-page-{n}")
    first = await customer.audit.ListAuditEntries(
        audit_pb.ListAuditEntriesRequest(actor="carol", page_size=2)
    )
    second = await customer.audit.ListAuditEntries(
        audit_pb.ListAuditEntriesRequest(
            actor="carol", page_size=2, page_token=first.next_page_token
        )
    )
    ids = [e.request_id for e in [*first.entries, *second.entries]]
    assert ids == ["req-page-0", "req-page-1", "req-page-2"] and not second.next_page_token
    after = Timestamp()
    after.CopyFrom(first.entries[1].time)
    later = await entries(customer, actor="carol", **{"from": after})
    assert [e.request_id for e in later] == ["req-page-1", "req-page-2"]
    assert await entries(customer, actor="carol", to=first.entries[0].time) == []
    code, _, violations = await rpc_error(
        customer.audit.ListAuditEntries(audit_pb.ListAuditEntriesRequest(page_token="nope"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in violations] == ["page_token"]
    for field, bad in (
        ("actor", audit_pb.ListAuditEntriesRequest(actor="nul\x00")),
        ("engagement_id", audit_pb.ListAuditEntriesRequest(engagement_id="e" * 257)),
    ):
        code, _, violations = await rpc_error(customer.audit.ListAuditEntries(bad))
        assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])


async def test_the_services_own_connection_can_neither_update_nor_delete_a_row(
    customer: Running,
) -> None:
    await resolve(customer, "Kept Ltd", "dave", "req-kept")
    before = await customer.db.fetch("SELECT * FROM audit_log ORDER BY seq")
    for statement in (
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await customer.db.execute(statement)
    # Even with triggers off for replication, the trigger still fires (ENABLE ALWAYS).
    async with customer.db.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("DELETE FROM audit_log")
    assert await customer.db.fetch("SELECT * FROM audit_log ORDER BY seq") == before


async def test_the_owning_role_has_no_update_or_delete_grant(stack: Stack) -> None:
    """As deployed: a non-superuser role owns its database and runs its migrations. Without the
    trigger (which the owner could disable), the missing grants still refuse the change."""
    role, database = f"audit_{uuid4().hex[:8]}", f"t_audit_{uuid4().hex[:8]}"
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    await admin.execute(f'CREATE DATABASE "{database}" OWNER "{role}"')
    try:
        owner_url = with_database(stack.database_url, database).replace("postgres@", f"{role}@", 1)
        conn = await asyncpg.connect(owner_url)
        try:
            assert await conn.fetchval("SELECT current_user") == role
            await migrate(conn, [("mesh", KIT_MIGRATIONS)])
            await conn.execute(
                "INSERT INTO audit_log (actor, operation) VALUES ('erin', 'test/Op')"
            )
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                    await conn.execute(statement)
            assert await conn.fetchval("SELECT actor FROM audit_log") == "erin"
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
