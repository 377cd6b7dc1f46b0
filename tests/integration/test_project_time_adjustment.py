"""adjustTime over real gRPC, PostgreSQL and NATS (DESIGN.md §9): an approved entry is
corrected by a reversal and a replacement, never edited; every refusal writes nothing."""

from __future__ import annotations

import datetime as dt

import grpc

from tests.integration.test_project_grpc import (
    START,
    Running,
    as_decimal,
    counts,
    day,
    decoded,
    engagement,
    entry,
    running,
    stream_events,
)
from tests.support import rpc_error
from weftwork.project.v1 import events_pb2
from weftwork.project.v1 import project_service_pb2 as pb

__all__ = ["running"]  # the shared module fixture

ADJUSTED = "weftwork.project.time_entry.adjusted.v1"


async def approved(r: Running, e: pb.Engagement, hours: str, on: dt.date) -> pb.TimeEntry:
    answer = await r.project.SubmitTime(
        pb.SubmitTimeRequest(entries=[entry(e, hours=hours, date=day(on))])
    )
    [t] = answer.time_entries
    done: pb.ApproveTimeResponse = await r.project.ApproveTime(pb.ApproveTimeRequest(ids=[t.id]))
    return done.time_entries[0]


def adjust(entry_id: str, hours: str, key: str = "", reason: str = "Typo") -> pb.AdjustTimeRequest:
    return pb.AdjustTimeRequest(id=entry_id, hours=hours, reason=reason, idempotency_key=key)


async def test_a_correction_adds_a_reversal_and_a_replacement_and_tells_once(
    running: Running,
) -> None:
    r = running
    e = await engagement(r)
    original = await approved(r, e, "8", START + dt.timedelta(days=7))  # 8 x 187.35 = 1,498.80
    first = await r.project.AdjustTime(adjust(original.id, "6", key="k-1"))
    again = await r.project.AdjustTime(adjust(original.id, "6", key="k-1"))
    assert again == first  # the same key and request: the first answer, nothing new
    assert first.changed and first.original == original
    rev, rep = first.reversal, first.replacement
    assert (rev.hours, str(as_decimal(rev.bill_amount)), rev.corrects_time_entry_id) == (
        "-8", "-1498.8", original.id,
    )  # fmt: skip
    assert (rep.hours, str(as_decimal(rep.bill_amount)), rep.bill_rate) == ("6", "1124.1", "187.35")
    assert rep.status == rev.status == pb.TIME_ENTRY_STATUS_APPROVED
    found = await r.project.GetEngagement(pb.GetEngagementRequest(id=e.id))
    assert (found.engagement.approved_hours, found.engagement.version) == ("6", 3)
    events = [m for m in await stream_events(r, e.id) if m.subject == ADJUSTED]
    [msg] = events
    told = decoded(msg, events_pb2.TimeEntryAdjusted)
    assert (told.original_time_entry_id, told.reason, told.approved_hours) == (
        original.id, "Typo", "6",
    )  # fmt: skip
    assert (told.reversal.time_entry_id, told.replacement.time_entry_id) == (rev.id, rep.id)
    # The replacement is corrected next; the original is not corrected twice.
    before = await counts(r.db)
    code, message, _ = await rpc_error(r.project.AdjustTime(adjust(original.id, "5")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and rep.id in message
    code, _, _ = await rpc_error(r.project.AdjustTime(adjust(rev.id, "5")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # a reversal
    code, message, _ = await rpc_error(r.project.AdjustTime(adjust(original.id, "7", key="k-1")))
    assert (code, message.split(":")[0]) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "IDEMPOTENCY_KEY_REUSED",
    )
    assert await counts(r.db) == before


async def test_only_approved_time_is_corrected_and_the_same_hours_change_nothing(
    running: Running,
) -> None:
    r = running
    e = await engagement(r)
    on = START + dt.timedelta(days=8)
    [pending, rejected] = (
        await r.project.SubmitTime(
            pb.SubmitTimeRequest(entries=[entry(e, hours="2", date=day(on))] * 2)
        )
    ).time_entries
    await r.project.RejectTime(pb.RejectTimeRequest(ids=[rejected.id], reason="Wrong"))
    kept = await approved(r, e, "3", on)
    before = await counts(r.db)
    for refused in (pending.id, rejected.id):
        code, _, _ = await rpc_error(r.project.AdjustTime(adjust(refused, "1")))
        assert code == grpc.StatusCode.FAILED_PRECONDITION
    same = await r.project.AdjustTime(adjust(kept.id, "3.00"))
    assert (same.changed, same.HasField("reversal"), same.original) == (False, False, kept)
    # 2 h pending + 3 h approved that day: 23 h would make 25 h.
    code, _, violations = await rpc_error(r.project.AdjustTime(adjust(kept.id, "23")))
    assert (code, [v.field for v in violations]) == (grpc.StatusCode.INVALID_ARGUMENT, ["hours"])
    for hours, reason in (("0", "x"), ("NaN", "x"), ("25", "x"), ("2", " ")):
        code, _, _ = await rpc_error(r.project.AdjustTime(adjust(kept.id, hours, reason=reason)))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, hours
    code, _, _ = await rpc_error(
        r.project.AdjustTime(adjust("00000000-0000-4000-8000-000000000000", "1"))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert await counts(r.db) == before
