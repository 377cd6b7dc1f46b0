"""Helpers shared by the integration and end-to-end tests: settings, polling, gRPC errors."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import uvicorn
from cloudevents.core.formats.json import JSONFormat
from google.protobuf.message import Message
from nats.js import JetStreamContext

from devstack.nats_users import user_url
from mesh.errors import FieldViolation
from mesh.events.cloudevents import event_headers
from mesh.grpc.errors import field_violations
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES, LegalEntitySetting, dump_legal_entities
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
        # Tests send documents of their own: production's trusted documents only where a test
        # sets this to false (tests/e2e/test_trusted_documents.py, the console's tests).
        "WEFTWORK_GATEWAY_ANY_DOCUMENT": "true",
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


def with_grpc_ports(settings: Settings, **ports: int) -> Settings:
    """The settings with where these services listen (the port each one bound), for callers."""
    return dataclasses.replace(settings, grpc_ports={**settings.grpc_ports, **ports})


def as_nats_user(settings: Settings, user: str) -> Settings:
    """The settings with `user`'s own NATS credentials (when the URL is the test operator's)."""
    return dataclasses.replace(settings, nats_url=user_url(settings.nats_url, user))


@contextlib.asynccontextmanager
async def serving(
    spec: ServiceSpec, settings: Settings, *, port: int = 0
) -> AsyncIterator[tuple[int, ServiceContext]]:
    """A service in this event loop as its own NATS user, with its relay and consumers running;
    on a port it binds itself (0) unless one is given. Returns the bound port: hand it to the
    service's callers with with_grpc_ports."""
    own = as_nats_user(settings, spec.name)
    async with running_service(spec, own, port=port) as (server, ctx):
        port = await server.start()
        try:
            yield port, ctx
        finally:
            await server.stop()


@contextlib.asynccontextmanager
async def serving_http(app: Any) -> AsyncIterator[int]:
    """An ASGI app on a real socket (uvicorn); yields the port. We bind the socket and hand it
    over open, so no other process can take the port in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Keep-alive longer than any client's idle pool (httpx drops idle connections after 5 s,
    # uvicorn's default is also 5 s): with equal timeouts a reused connection can be closed by
    # the server as the request is sent (httpx.ReadError, seen under load).
    config = uvicorn.Config(app, log_level="warning", lifespan="auto", timeout_keep_alive=60)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(
            lambda: asyncio.sleep(0, result=server.started or task.done()), what="uvicorn started"
        )
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("uvicorn exited before it started")
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


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


def legal_entities_json(*changed: LegalEntitySetting, **flags: bool) -> str:
    """WEFTWORK_LEGAL_ENTITIES: the defaults, with these entities added or replaced; a flag
    such as DE01=True requires approval for that default entity."""
    entities = dict(DEFAULT_LEGAL_ENTITIES)
    for code, gated in flags.items():
        entities[code] = dataclasses.replace(entities[code], approval_required=gated)
    entities.update({e.code: e for e in changed})
    return dump_legal_entities(entities)
