"""What an audit row says about a request (mesh.audit.scope), and the actor on events."""

from __future__ import annotations

from urllib.parse import unquote
from uuid import uuid4

from mesh.audit.scope import (
    AuditScope,
    acting,
    carried_ids,
    clean,
    current,
    request_engagements,
    request_targets,
)
from mesh.events.cloudevents import event_headers, parse_event_headers
from mesh.grpc.actor import ACTOR, ON_BEHALF_OF, REQUEST_ID, scope_metadata
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import project_service_pb2 as pb


def test_targets_are_the_requests_top_level_ids() -> None:
    assert request_targets(pb.ApproveTimeRequest(ids=["a", "b", "a"])) == ("a", "b")
    assert request_targets(pb.CompleteEngagementRequest(id="e1")) == ("e1",)
    merge = customer_pb.MergeCustomersRequest(survivor_id="s", merged_id="m")
    assert set(request_targets(merge)) == {"s", "m"}
    # An idempotency key is not an id; a request naming no id has no target of its own.
    assert request_targets(pb.SubmitTimeRequest(idempotency_key="k")) == ()


def test_engagements_are_found_in_nested_entries() -> None:
    request = pb.SubmitTimeRequest(
        entries=[
            pb.TimeEntryInput(engagement_id="e1", person_id="p"),
            pb.TimeEntryInput(engagement_id="e2"),
            pb.TimeEntryInput(engagement_id="e1"),
        ]
    )
    assert request_engagements(request) == ("e1", "e2")
    assert request_targets(request) == ()


def test_a_row_targets_the_request_else_the_events_written_else_what_it_carried() -> None:
    person = pb.UpsertPersonRequest(person=pb.Person(id="p-1", name="P"))
    scope = AuditScope(actor="a", carried=carried_ids(person))
    assert scope.row_targets() == ["p-1"]
    scope.note_event("eng-9", "eng-9")
    assert scope.row_targets() == ["eng-9"] and scope.row_engagements() == ["eng-9"]
    named = AuditScope(actor="a", targets=("inv-1",), engagement_ids=("eng-1",))
    named.note_event("inv-1", "eng-2")
    assert named.row_targets() == ["inv-1"]
    assert named.row_engagements() == ["eng-1", "eng-2"]


def test_only_bounded_values_without_control_characters_are_kept() -> None:
    for good in ("alice@example.com", "Zoë Doe", "x" * 256):
        assert clean(good) == good
    for bad in (None, "", "x" * 257, "line\nbreak", "nul\x00", "c1\x85"):
        assert clean(bad) is None


def test_metadata_carries_any_actor_as_printable_ascii() -> None:
    scope = AuditScope(actor="Zoë 50%", request_id="r 1", on_behalf_of="a@b")
    pairs = dict(scope_metadata(scope))
    assert all(v.isascii() and v.isprintable() and " " not in v for v in pairs.values())
    assert {k: unquote(v) for k, v in pairs.items()} == {
        ACTOR: "Zoë 50%",
        REQUEST_ID: "r 1",
        ON_BEHALF_OF: "a@b",
    }
    assert pairs[ON_BEHALF_OF] == "a@b" and scope_metadata(None) == []


def test_the_scope_is_current_inside_the_block_only() -> None:
    assert current() is None
    with acting(AuditScope(actor="a")) as scope:
        assert current() is scope
    assert current() is None


def test_events_carry_the_actor_for_whom_and_the_request_as_extensions() -> None:
    headers = event_headers(
        event_id=uuid4(),
        service="billing",
        subject="weftwork.billing.invoice.issued.v1",
        aggregate_id="inv-1",
        aggregate_version=1,
        actor="service:billing",
        on_behalf_of="fin@example.com",
        request_id="req-1",
    )
    assert headers["ce-actor"] == "service:billing"
    attributes = parse_event_headers(headers)
    assert (attributes.actor, attributes.on_behalf_of, attributes.request_id) == (
        "service:billing",
        "fin@example.com",
        "req-1",
    )
    bare = event_headers(
        event_id=uuid4(), service="x", subject="s", aggregate_id="a", aggregate_version=1
    )
    assert "ce-actor" not in bare and parse_event_headers(bare).actor is None
