"""The project service as a real OS process beside the customer service: `weftwork serve
project` dials `weftwork serve customer`, and a SIGKILL between commit and publish loses no
event and doubles none."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import nats

from devstack.nats import EmbeddedNats
from mesh.db import create_pool
from tests.conftest import Stack
from tests.e2e.processes import ServiceProcess
from tests.integration.test_project_grpc import entry, won
from tests.support import eventually, settings_for
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc


async def test_sigkill_after_approval_publishes_every_event_exactly_once(
    stack: Stack, private_nats: EmbeddedNats, tmp_path: Path
) -> None:
    settings, env = settings_for(stack.database_url, private_nats.url, tmp_path)
    customer = ServiceProcess("customer", env, tmp_path / "customer.log")
    # Project dials customer on the port reserved for it.
    project_env = {**env, "WEFTWORK_CUSTOMER_PORT": str(customer.port)}
    project = ServiceProcess("project", project_env, tmp_path / "project.log")
    target = project.target
    db = await create_pool(settings.database_url_for("project"))
    for service in (customer, project):
        service.start()
    try:
        await eventually(customer.serving, within=60, what="customer SERVING")
        await eventually(project.serving, within=60, what="project SERVING")
        await eventually(lambda: _has_stream(private_nats.url), what="the PROJECT stream")
        # NATS goes away: the changes still commit, their events wait in the outbox ...
        private_nats.kill()
        async with grpc.aio.insecure_channel(target) as channel:
            stub = pb_grpc.ProjectServiceStub(channel)
            created = await stub.CreateEngagementFromOpportunity(won(), timeout=10)
            engagement = created.engagement
            await stub.UpsertPerson(
                pb.UpsertPersonRequest(
                    person=pb.Person(id="p-ada", name="Ada", home_entity="UK01")
                ),
                timeout=10,
            )
            submitted = await stub.SubmitTime(
                pb.SubmitTimeRequest(entries=[entry(engagement)]), timeout=10
            )
            await stub.ApproveTime(
                pb.ApproveTimeRequest(ids=[t.id for t in submitted.time_entries]), timeout=10
            )
        waiting = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL",
            engagement.id,
        )
        assert waiting == 2
        # ... and the process dies before it could publish them.
        assert project.signal(signal.SIGKILL) == -signal.SIGKILL
        private_nats.restart()
        project.start()
        await eventually(
            lambda: db.fetchval(
                "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL",
                engagement.id,
            ),
            until=lambda n: n == 0,
            within=60,
            what="the restarted relay to publish",
        )
        assert await _subjects_about(private_nats.url, engagement.id) == [
            "weftwork.project.engagement.activated.v1",
            "weftwork.project.time_entry.approved.v1",
        ]
        assert project.signal(signal.SIGTERM) == 0
        assert customer.signal(signal.SIGTERM) == 0
    finally:
        for service in (project, customer):
            service.ensure_stopped()
        await db.close()


async def _has_stream(url: str) -> bool:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().stream_info("PROJECT")
    except Exception:
        return False
    finally:
        await nc.close()
    return True


async def _subjects_about(url: str, engagement_id: str) -> list[str]:
    """Every message on PROJECT about the engagement, in stream order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info("PROJECT")).state.last_seq
        sub = await js.subscribe("weftwork.project.>", ordered_consumer=True)
        subjects, seq = [], 0
        while seq < last:
            msg = await sub.next_msg(timeout=5)
            seq = msg.metadata.sequence.stream
            if (msg.headers or {}).get("ce-subject") == engagement_id:
                subjects.append(msg.subject)
        return subjects
    finally:
        await nc.close()
