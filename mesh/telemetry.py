"""Traces: one provider per process; OTLP export when the standard OTEL_* variables ask for it.

A trace starts at the GraphQL operation, follows gRPC calls (interceptors), is written into
each event's `traceparent` by the outbox, and continued by every consumer that applies it
(mesh.events.inbox).
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def configure_tracing(service: str, *, processor: SpanProcessor | None = None) -> TracerProvider:
    """Install this process's tracer provider (once); export over OTLP when configured.

    OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns export on; the
    exporter reads the other standard OTEL_EXPORTER_OTLP_* variables itself.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        if processor is not None:
            current.add_span_processor(processor)
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": f"weftwork-{service}"}))
    if processor is not None:
        provider.add_span_processor(processor)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
