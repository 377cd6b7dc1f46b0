"""Helpers shared by the integration and end-to-end tests: settings, polling, gRPC errors."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import grpc
from cloudevents.core.formats.json import JSONFormat
from google.protobuf.message import Message
from nats.js import JetStreamContext

from mesh.errors import FieldViolation
from mesh.events.cloudevents import event_headers
from mesh.grpc.errors import field_violations
from mesh.service import ServiceContext, ServiceSpec, running_service
from mesh.settings import Settings, load_settings, with_database

T = TypeVar("T")


def settings_for(
    database_url: str, nats_url: str, data_dir: Path, **extra: str
) -> tuple[Settings, dict[str, str]]:
    """Settings (and the env that makes them) with a fresh database for each service."""
    suffix = uuid.uuid4().hex[:10]
    env = {
        "WEFTWORK_DATA_DIR": str(data_dir),
        "WEFTWORK_DATABASE_URL": database_url,
        "WEFTWORK_NATS_URL": nats_url,
        "WEFTWORK_SHUTDOWN_GRACE_SECONDS": "2",
        **{
            f"WEFTWORK_{name.upper()}_DATABASE_URL": with_database(
                database_url, f"t_{name}_{suffix}"
            )
            for name in ("customer", "project", "billing", "revenue")
        },
        # Any free port: tests run many services (and copies of one) on this machine.
        **{
            f"WEFTWORK_{name.upper()}_METRICS_PORT": "0"
            for name in ("customer", "project", "billing", "revenue")
        },
        **extra,
    }
    return load_settings(env), env


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    within: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll probe() until until(result) holds; fail with the last result after timeout."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}; last: {result!r}")
        await asyncio.sleep(interval)


async def rpc_error(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, list[FieldViolation]]:
    """Await a call that must fail; its status code, message and BadRequest field violations."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or "", field_violations(error)
    raise AssertionError("the call succeeded but should have failed")


class ProtobufFormat(JSONFormat):
    """Reads a binary-mode body as bytes: the SDK's JSON format would turn a protobuf body that
    happens to be valid UTF-8 into str. A partner reading our events does the same."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> bytes:
        return body


@contextlib.asynccontextmanager
async def serving(
    spec: ServiceSpec, settings: Settings, *, port: int = 0
) -> AsyncIterator[tuple[int, ServiceContext]]:
    """A service in this event loop, with its relay and consumers running; on a free port
    unless one is given (give the port its callers' settings name)."""
    async with running_service(spec, settings, port=port) as (server, ctx):
        port = await server.start()
        try:
            yield port, ctx
        finally:
            await server.stop()


async def publish_event(
    js: JetStreamContext,
    *,
    service: str,
    subject: str,
    aggregate_id: str,
    aggregate_version: int,
    message: Message,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Publish one event as the producing service's relay would (headers and all)."""
    event_id = event_id or uuid.uuid4()
    headers = event_headers(
        event_id=event_id,
        service=service,
        subject=subject,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
    )
    await js.publish(subject, message.SerializeToString(), headers=headers)
    return event_id
