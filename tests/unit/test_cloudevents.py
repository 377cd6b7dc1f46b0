"""Our NATS headers are CloudEvents 1.0 binary mode that any CloudEvents reader accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_binary
from cloudevents.v1.http import from_http
from google.protobuf.wrappers_pb2 import StringValue
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mesh.events.cloudevents import (
    InvalidEventHeaders,
    event_headers,
    event_id_of,
    is_valid_traceparent,
    parse_event_headers,
)
from tests.support import ProtobufFormat

REQUIRED = {
    "ce-specversion",
    "ce-id",
    "ce-source",
    "ce-type",
    "ce-time",
    "ce-subject",
    "ce-datacontenttype",
    "Content-Type",
    "Nats-Msg-Id",
    "traceparent",
    "ce-aggregateversion",
}
SUBJECT = "weftwork.project.time_entry.approved.v1"


def headers_for(event_id: UUID, **overrides: object) -> dict[str, str]:
    arguments: dict[str, object] = {
        "event_id": event_id,
        "service": "project",
        "subject": SUBJECT,
        "aggregate_id": "9b2f3c1e-7a51-4f7b-9a55-0c1e2d3f4a5b",
        "aggregate_version": 7,
    }
    arguments.update(overrides)
    return event_headers(**arguments)  # type: ignore[arg-type]


def test_headers_carry_every_attribute_the_design_requires() -> None:
    event_id = uuid4()
    headers = headers_for(event_id)

    assert REQUIRED - headers.keys() == set()
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-id"] == str(event_id)
    assert headers["ce-source"] == "/weftwork/project"
    assert headers["ce-type"] == SUBJECT
    assert headers["ce-subject"] == "9b2f3c1e-7a51-4f7b-9a55-0c1e2d3f4a5b"
    assert headers["ce-datacontenttype"] == headers["Content-Type"] == "application/protobuf"
    assert headers["ce-aggregateversion"] == "7"
    assert headers["ce-time"].endswith("Z")
    assert all(isinstance(value, str) and "\n" not in value for value in headers.values())


def test_nats_msg_id_is_the_event_id_so_jetstream_dedups_republishes() -> None:
    headers = headers_for(uuid4())
    assert headers["Nats-Msg-Id"] == headers["ce-id"]


def test_fresh_traceparent_is_valid_w3c_when_no_span_is_current() -> None:
    first, second = headers_for(uuid4())["traceparent"], headers_for(uuid4())["traceparent"]
    assert is_valid_traceparent(first)
    assert first.split("-")[1] != second.split("-")[1]  # each root gets its own trace


def test_traceparent_continues_the_current_span() -> None:
    context = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(context)):
        headers = headers_for(uuid4())
    assert headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_headers_round_trip_into_event_attributes() -> None:
    event_id = uuid4()
    moment = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
    headers = headers_for(event_id, time=moment, aggregate_id="PRJ-US01-2026-0001 (EMEA) 100%")

    attributes = parse_event_headers(headers)

    assert attributes.id == event_id
    assert attributes.source == "/weftwork/project"
    assert attributes.type == SUBJECT
    assert attributes.aggregate_id == "PRJ-US01-2026-0001 (EMEA) 100%"
    assert attributes.time == moment
    assert attributes.aggregate_version == 7
    assert attributes.traceparent == headers["traceparent"]


def test_header_names_are_read_case_insensitively() -> None:
    event_id = uuid4()
    headers = {name.upper(): value for name, value in headers_for(event_id).items()}
    assert parse_event_headers(headers).id == event_id


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ce-id", None),
        ("ce-id", "not-a-uuid"),
        ("ce-specversion", "0.3"),
        ("ce-time", "yesterday"),
        ("ce-aggregateversion", "seven"),
    ],
)
def test_unreadable_headers_are_refused(name: str, value: str | None) -> None:
    headers = headers_for(uuid4())
    if value is None:
        del headers[name]
    else:
        headers[name] = value
    with pytest.raises(InvalidEventHeaders):
        parse_event_headers(headers)


def test_event_id_survives_otherwise_broken_headers() -> None:
    event_id = uuid4()
    headers = headers_for(event_id)
    del headers["ce-time"]
    assert event_id_of(headers) == event_id
    assert event_id_of({"ce-id": "garbage"}) is None


def test_cloudevents_sdk_reads_our_binary_mode_message() -> None:
    event_id = uuid4()
    body = StringValue(value="approved").SerializeToString()
    headers = headers_for(event_id, aggregate_id="customer 42 / 100%")

    event = from_binary(HTTPMessage(headers=headers, body=body), ProtobufFormat())

    assert event.get_id() == str(event_id)
    assert event.get_specversion() == "1.0"
    assert event.get_source() == "/weftwork/project"
    assert event.get_type() == SUBJECT
    assert event.get_subject() == "customer 42 / 100%"
    assert event.get_datacontenttype() == "application/protobuf"
    assert event.get_time() == parse_event_headers(headers).time
    data = event.get_data()
    assert isinstance(data, bytes)
    assert StringValue.FromString(data).value == "approved"


def test_legacy_cloudevents_http_reader_accepts_our_headers() -> None:
    event_id = uuid4()
    body = StringValue(value="approved").SerializeToString()

    event = from_http(headers_for(event_id), body, data_unmarshaller=lambda data: data)

    assert event["id"] == str(event_id)
    assert event["type"] == SUBJECT
    assert event["source"] == "/weftwork/project"
    assert StringValue.FromString(event.data).value == "approved"
