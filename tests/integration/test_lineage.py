"""Every service answers which events touched an engagement, from its own outbox."""

from __future__ import annotations

import asyncpg
import pytest

from mesh.errors import InvalidArgument
from mesh.events.cloudevents import ENGAGEMENT_HEADER
from mesh.events.lineage import LineageServicer
from mesh.events.outbox import OutgoingEvent, add_events
from weftwork.customer.v1 import events_pb2 as customer_events
from weftwork.mesh.v1 import lineage_service_pb2 as pb
from weftwork.project.v1 import events_pb2 as project_events

A = "5a3f0c43-1d1f-4a59-8d55-0f1a2b3c4d5e"
B = "6b4f0c43-1d1f-4a59-8d55-0f1a2b3c4d5e"


async def test_lineage_lists_one_engagements_events_in_order(events_db: asyncpg.Pool) -> None:
    async with events_db.acquire() as conn, conn.transaction():
        ids = await add_events(
            conn,
            source="project",
            events=[
                OutgoingEvent(
                    "weftwork.project.engagement.activated.v1",
                    A,
                    1,
                    project_events.EngagementActivated(engagement_id=A, version=1),
                ),
                OutgoingEvent(
                    "weftwork.project.engagement.activated.v1",
                    B,
                    1,
                    project_events.EngagementActivated(engagement_id=B, version=1),
                ),
                OutgoingEvent(
                    "weftwork.customer.customer.created.v1",
                    "c1",
                    1,
                    customer_events.CustomerCreated(customer_id="c1", version=1),
                ),
                *[
                    OutgoingEvent(
                        "weftwork.project.milestone.completed.v1",
                        A,
                        v,
                        project_events.MilestoneCompleted(engagement_id=A, version=v),
                    )
                    for v in (2, 3)
                ],
            ],
        )
    headers = await events_db.fetch("SELECT id, headers FROM outbox ORDER BY seq")
    assert [h["headers"].get(ENGAGEMENT_HEADER) for h in headers] == [A, B, None, A, A]

    lineage = LineageServicer(events_db)
    first = await lineage.ListEngagementEvents(
        pb.ListEngagementEventsRequest(engagement_id=A, page_size=2), None
    )
    rest = await lineage.ListEngagementEvents(
        pb.ListEngagementEventsRequest(engagement_id=A, page_token=first.next_page_token), None
    )
    events = [*first.events, *rest.events]
    assert [e.id for e in events] == [str(ids[0]), str(ids[3]), str(ids[4])]
    assert [e.aggregate_version for e in events] == [1, 2, 3]
    assert {e.source for e in events} == {"/weftwork/project"}
    assert not any(e.published for e in events)  # no relay ran
    assert rest.next_page_token == ""


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ListEngagementEventsRequest(), "engagement_id"),
        (pb.ListEngagementEventsRequest(engagement_id=A, page_size=501), "page_size"),
        (pb.ListEngagementEventsRequest(engagement_id=A, page_token="x"), "page_token"),
    ],
)
async def test_bad_lineage_requests_name_the_field(
    events_db: asyncpg.Pool, request_: pb.ListEngagementEventsRequest, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await LineageServicer(events_db).ListEngagementEvents(request_, None)
    assert caught.value.violations[0].field == field
