"""The approval gate over real gRPC, PostgreSQL and NATS (DESIGN.md §9): in a gated entity a
close-won waits PENDING_APPROVAL, takes nothing and tells nobody until ApproveEngagement."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from mesh.grpc.client import open_channel
from services.customer.main import SPEC as CUSTOMER
from services.project.main import SPEC as PROJECT
from tests.conftest import Stack
from tests.integration.test_project_grpc import (
    PEOPLE,
    Running,
    counts,
    decoded,
    engagement,
    entry,
    money,
    stream_events,
)
from tests.support import legal_entities_json, rpc_error, serving, settings_for, with_grpc_ports
from weftwork.customer.v1 import customer_service_pb2_grpc as customer_grpc
from weftwork.project.v1 import events_pb2
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc

ACTIVATED = "weftwork.project.engagement.activated.v1"


@pytest.fixture(scope="module")
async def gated(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    """Customer and project services; DE01 requires commercial approval."""
    settings, _ = settings_for(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("approval"),
        WEFTWORK_LEGAL_ENTITIES=legal_entities_json(DE01=True),
    )
    async with serving(CUSTOMER, settings) as (customer_port, _):
        settings = with_grpc_ports(settings, customer=customer_port)
        async with (
            serving(PROJECT, settings) as (port, ctx),
            open_channel(f"127.0.0.1:{port}", deadline_seconds=10) as channel,
            open_channel(f"127.0.0.1:{customer_port}", deadline_seconds=10) as customer_channel,
        ):
            running = Running(
                pb_grpc.ProjectServiceStub(channel),
                customer_grpc.CustomerServiceStub(customer_channel),
                ctx.pool,
                module_nats,
            )
            for person_id, name, entity in PEOPLE:
                await running.project.UpsertPerson(
                    pb.UpsertPersonRequest(
                        person=pb.Person(id=person_id, name=name, home_entity=entity)
                    )
                )
            yield running


def eur(amount: str) -> object:
    return money(amount, "EUR")


async def test_a_gated_close_won_waits_and_refuses_work_writing_nothing(gated: Running) -> None:
    e = await engagement(gated, legal_entity="DE01", currency="EUR", contract_value=eur("50000"))
    assert (e.status, e.version) == (pb.ENGAGEMENT_STATUS_PENDING_APPROVAL, 1)
    assert await stream_events(gated, e.id) == []  # billing and revenue hear nothing yet
    before = await counts(gated.db)
    refusals = [
        gated.project.SubmitTime(pb.SubmitTimeRequest(entries=[entry(e)])),
        gated.project.AssignResource(
            pb.AssignResourceRequest(
                engagement_id=e.id, person_id="p-ada", role="Consultant", planned_hours="10"
            )
        ),
        gated.project.CompleteEngagement(
            pb.CompleteEngagementRequest(id=e.id, completed_on=entry(e).date)
        ),
    ]
    for refused in refusals:
        code, message, _ = await rpc_error(refused)
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert "PENDING_APPROVAL" in message
    assert await counts(gated.db) == before
    listed = await gated.project.ListEngagements(
        pb.ListEngagementsRequest(status=pb.ENGAGEMENT_STATUS_PENDING_APPROVAL)
    )
    assert e.id in [x.id for x in listed.engagements]


async def test_approval_activates_and_only_then_announces_the_engagement(gated: Running) -> None:
    e = await engagement(gated, legal_entity="DE01", currency="EUR", contract_value=eur("50000"))
    approved = await gated.project.ApproveEngagement(pb.ApproveEngagementRequest(id=e.id))
    assert (approved.engagement.status, approved.engagement.version) == (
        pb.ENGAGEMENT_STATUS_ACTIVE,
        2,
    )
    again = await gated.project.ApproveEngagement(pb.ApproveEngagementRequest(id=e.id))
    assert again.engagement == approved.engagement  # a retry: no second version, no event
    [msg] = await stream_events(gated, e.id)
    assert msg.subject == ACTIVATED
    activated = decoded(msg, events_pb2.EngagementActivated)
    assert activated.version == 2
    assert activated.engagement == approved.engagement
    assert (activated.customer.customer_id, activated.customer.country) == (e.customer_id, "GB")
    submitted = await gated.project.SubmitTime(pb.SubmitTimeRequest(entries=[entry(e)]))
    assert submitted.time_entries[0].status == pb.TIME_ENTRY_STATUS_SUBMITTED


async def test_other_entities_are_active_at_once_and_approval_of_the_unknown_is_not_found(
    gated: Running,
) -> None:
    e = await engagement(gated, legal_entity="UK01")
    assert e.status == pb.ENGAGEMENT_STATUS_ACTIVE
    [msg] = await stream_events(gated, e.id)
    assert msg.subject == ACTIVATED
    done = await gated.project.CompleteEngagement(
        pb.CompleteEngagementRequest(id=e.id, completed_on=entry(e).date)
    )
    before = await counts(gated.db)
    code, _, _ = await rpc_error(
        gated.project.ApproveEngagement(pb.ApproveEngagementRequest(id=e.id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # COMPLETED
    code, _, _ = await rpc_error(
        gated.project.ApproveEngagement(
            pb.ApproveEngagementRequest(id="00000000-0000-4000-8000-000000000000")
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    code, _, violations = await rpc_error(
        gated.project.ApproveEngagement(pb.ApproveEngagementRequest(id="nope"))
    )
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, ["id"])
    assert await counts(gated.db) == before
    assert done.engagement.status == pb.ENGAGEMENT_STATUS_COMPLETED
