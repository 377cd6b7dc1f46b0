"""Structured JSON logs on stderr, one object per line, with the trace and span of the moment."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter


class TraceContext(logging.Filter):
    """Adds trace_id and span_id (lower-case hex, as OpenTelemetry prints them) to a record
    logged while a span is current, so a log line leads to its trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True


def json_handler(service: str, stream: TextIO | None = None) -> logging.Handler:
    """One JSON object per record, on stream (default: stderr)."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    handler.addFilter(TraceContext())
    return handler


def configure_logging(service: str, level: str = "INFO") -> None:
    root = logging.getLogger()
    root.handlers[:] = [json_handler(service)]
    root.setLevel(level)
    # Chatty libraries stay at WARNING unless we debug.
    for name in ("nats", "asyncio", "grpc", "httpx"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
