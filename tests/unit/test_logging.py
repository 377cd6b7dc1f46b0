"""JSON logs: one object per line, carrying the trace and span of the moment."""

from __future__ import annotations

import io
import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from mesh.logging import json_handler


def logged(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_logged_inside_a_span_carries_its_trace_and_span_ids() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.logging.in_span")
    logger.propagate = False
    logger.addHandler(json_handler("billing", stream))
    logger.setLevel(logging.INFO)
    tracer = TracerProvider().get_tracer(__name__)

    with tracer.start_as_current_span("issue invoice") as span:
        logger.info("invoice issued", extra={"invoice": "UK01-2025-000001"})
    logger.info("outside any span")

    inside, outside = logged(stream)
    context = span.get_span_context()
    assert (
        inside["trace_id"] == f"{context.trace_id:032x}" == trace.format_trace_id(context.trace_id)
    )
    assert inside["span_id"] == f"{context.span_id:016x}"
    assert (inside["message"], inside["service"], inside["invoice"]) == (
        "invoice issued",
        "billing",
        "UK01-2025-000001",
    )
    assert {"time", "level", "logger"} <= inside.keys()
    assert "trace_id" not in outside and "span_id" not in outside
