"""Prometheus metrics: every metric a service exposes, defined once, in a registry per service.

A registry per service rather than the process-wide default: tests run several services in one
process, and each must show only its own figures on its own port. Names follow Prometheus
conventions (base units, `_total` counters); labels are low-cardinality (no ids): the consumer
durable, the event type (a subject of the catalogue), and gRPC service, method and code.
"""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

log = logging.getLogger(__name__)

_CONSUMER = ("consumer",)
_EVENT = ("consumer", "event_type")


def new_registry() -> CollectorRegistry:
    """A registry with the standard process_*, python_info and python_gc_* collectors."""
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


class ServiceMetrics:
    """The outbox relay, event consumers and gRPC server of one service report here."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = new_registry() if registry is None else registry
        r = self.registry
        self.outbox_backlog = Gauge(
            "weftwork_outbox_backlog_events",
            "Outbox events not yet published (sampled by the relay, at most once a second).",
            registry=r,
        )
        self.outbox_oldest_age = Gauge(
            "weftwork_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished outbox event (sampled with the backlog).",
            registry=r,
        )
        self.outbox_publish_seconds = Histogram(
            "weftwork_outbox_publish_seconds",
            "Seconds from the relay claiming an outbox event to its PubAck from JetStream.",
            registry=r,
        )
        self.outbox_publish_failures = Counter(
            "weftwork_outbox_publish_failures_total",
            "Outbox events whose batch was not published and will be retried.",
            registry=r,
        )
        self.consumer_pending = Gauge(
            "weftwork_consumer_pending_messages",
            "Messages of the stream not yet delivered to this durable consumer (JetStream).",
            _CONSUMER,
            registry=r,
        )
        self.consumer_ack_pending = Gauge(
            "weftwork_consumer_ack_pending_messages",
            "Messages delivered to this durable consumer but not yet acknowledged (JetStream).",
            _CONSUMER,
            registry=r,
        )
        self.events_processed = Counter(
            "weftwork_events_processed_total",
            "Events applied by a consumer (handler ran, committed).",
            _EVENT,
            registry=r,
        )
        self.events_duplicate = Counter(
            "weftwork_events_duplicate_total",
            "Deliveries of events the consumer had already applied (skipped by the inbox).",
            _EVENT,
            registry=r,
        )
        self.events_redelivered = Counter(
            "weftwork_events_redelivered_total",
            "Deliveries after the first of a message (JetStream num_delivered > 1).",
            _EVENT,
            registry=r,
        )
        self.events_dead_lettered = Counter(
            "weftwork_events_dead_lettered_total",
            "Messages a consumer gave up on and kept in its dead-letter table.",
            _EVENT,
            registry=r,
        )
        self.event_handler_seconds = Histogram(
            "weftwork_event_handler_seconds",
            "Seconds to apply one event (inbox claim and handler, inside the batch transaction).",
            _EVENT,
            registry=r,
        )
        self.retention_pruned = Counter(
            "weftwork_retention_pruned_rows_total",
            "Rows the retention pruner deleted (mesh/retention.py), by table.",
            ("table",),
            registry=r,
        )
        grpc_method = ("grpc_type", "grpc_service", "grpc_method")
        self.grpc_started = Counter(
            "grpc_server_started_total",
            "RPCs started on the server.",
            grpc_method,
            registry=r,
        )
        self.grpc_handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by status code.",
            (*grpc_method, "grpc_code"),
            registry=r,
        )
        self.grpc_handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Seconds from receiving an RPC to its completion on the server.",
            grpc_method,
            registry=r,
        )


class MetricsEndpoint:
    """Serves one registry at http://host:port/metrics on a thread of its own."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self._server: WSGIServer
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(port, addr=host, registry=registry)
        self.port: int = self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def open_endpoint(registry: CollectorRegistry, host: str, port: int) -> MetricsEndpoint | None:
    """The endpoint, or None (logged) when the port is taken: a second copy of a service on one
    machine keeps working, only without metrics, rather than crash-looping."""
    try:
        endpoint = MetricsEndpoint(registry, host, port)
    except OSError as exc:
        log.error(
            "metrics port unavailable; serving no metrics",
            extra={"host": host, "port": port, "error": repr(exc)},
        )
        return None
    log.info("metrics serving", extra={"address": f"http://{host}:{endpoint.port}/metrics"})
    return endpoint
