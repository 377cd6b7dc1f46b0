"""Local HTTP servers the outbound tests deliver to, on sockets bound to port 0: a webhook
receiver that verifies with the `standardwebhooks` library and answers as scripted, and
fakes of HubSpot's CRM v3 API and Salesforce's REST API that answer as their docs say."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support import eventually

# (status, headers, body): what the next request to a path gets; 200 when none is scripted.
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()
    verified: bool | None = None  # by the path's secret, when the receiver knows it

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    """One uvicorn on 127.0.0.1; `restart` binds the same port again after `stop`."""

    app: Starlette
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        server = uvicorn.Server(config)
        self._server, self._task = server, asyncio.create_task(server.serve())
        await eventually(lambda: asyncio.sleep(0, result=server.started), what="receiver up")
        self.port = int(server.servers[0].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None


@dataclass
class Receiver:
    """Records every request; answers each path from its script, else 200."""

    received: list[Received] = field(default_factory=list)
    scripts: dict[str, list[Answer]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    # A path whose first request is held until `release` (a kill happens meanwhile).
    hold: dict[str, asyncio.Event] = field(default_factory=dict)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    server: Server = field(init=False)

    def __post_init__(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        self.server = Server(app)

    @property
    def url(self) -> str:
        return self.server.url

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = None
        if path in self.secrets:
            try:
                Webhook(self.secrets[path]).verify(body, headers, json_parse=False)
                verified = True
            except WebhookVerificationError:
                verified = False
        self.received.append(Received(path, headers, body, time.monotonic(), verified))
        if path in self.hold and not self.held.is_set():
            self.held.set()
            await self.release.wait()
        script = self.scripts.get(path) or []
        if script:
            status, answer_headers, answer = script.pop(0)
            return Response(answer, status_code=status, headers=answer_headers)
        return Response(b"", status_code=200)


@contextlib.asynccontextmanager
async def running(
    receiver_or_app: Receiver | FakeHubSpot | FakeSalesforce | Server,
) -> AsyncIterator[Server]:
    server = receiver_or_app if isinstance(receiver_or_app, Server) else receiver_or_app.server
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# --- HubSpot CRM v3 (deals batch update) -----------------------------------------------------


def _hubspot_error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}  # fmt: skip
    return JSONResponse(body, status_code=status)


@dataclass
class FakeHubSpot:
    """POST /crm/v3/objects/deals/batch/update as HubSpot documents it: Bearer private-app
    token, {"inputs": [{"id", "properties"}]}, 200 with {"status": "COMPLETE", "results"};
    401 for a bad token; 429 with the documented rate-limit body when told to throttle."""

    token: str
    deals: dict[str, dict[str, str]] = field(default_factory=dict)
    throttle: int = 0  # the next N requests get 429 (Retry-After: 1)
    requests: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    server: Server = field(init=False)

    def __post_init__(self) -> None:
        route = Route("/crm/v3/objects/deals/batch/update", self._update, methods=["POST"])
        self.server = Server(Starlette(routes=[route]))

    async def _update(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _hubspot_error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                "INVALID_AUTHENTICATION",
            )
        body = json.loads(await request.body())
        self.requests.append((time.monotonic(), body))
        if self.throttle > 0:
            self.throttle -= 1
            response = JSONResponse(
                {"status": "error", "message": "You have reached your secondly limit.",
                 "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                 "policyName": "SECONDLY", "requestId": str(uuid.uuid4())},
                status_code=429,
            )  # fmt: skip
            response.headers["Retry-After"] = "1"
            return response
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return _hubspot_error(400, "Invalid input JSON", "VALIDATION_ERROR")
        missing = [i.get("id") for i in inputs if i.get("id") not in self.deals]
        if missing:
            return _hubspot_error(
                400,
                "Could not get some DEAL objects, they may be deleted or not exist.",
                "OBJECT_NOT_FOUND",
                context={"ids": missing},
            )
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        results = []
        for item in inputs:
            props = self.deals[item["id"]]
            props.update({k: str(v) for k, v in item["properties"].items()})
            results.append({"id": item["id"], "properties": props, "createdAt": now,
                            "updatedAt": now, "archived": False})  # fmt: skip
        return JSONResponse(
            {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        )


# --- Salesforce REST (sObject rows) ----------------------------------------------------------


@dataclass
class FakeSalesforce:
    """PATCH /services/data/vXX.X/sobjects/Opportunity/{id} as Salesforce documents it:
    Bearer OAuth token, the fields as JSON, 204 No Content; errors as a JSON array of
    {"message", "errorCode"} (401 INVALID_SESSION_ID, 404 NOT_FOUND, 403 REQUEST_LIMIT_EXCEEDED
    when told to throttle)."""

    token: str
    opportunities: dict[str, dict[str, Any]] = field(default_factory=dict)
    throttle: int = 0
    requests: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    server: Server = field(init=False)

    def __post_init__(self) -> None:
        route = Route(
            "/services/data/{version}/sobjects/Opportunity/{id}", self._patch, methods=["PATCH"]
        )
        self.server = Server(Starlette(routes=[route]))

    async def _patch(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                status_code=401,
            )
        record_id = request.path_params["id"]
        fields = json.loads(await request.body())
        self.requests.append((time.monotonic(), record_id, fields))
        if self.throttle > 0:
            self.throttle -= 1
            return JSONResponse(
                [{"message": "TotalRequests Limit exceeded.",
                  "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                status_code=403,
            )  # fmt: skip
        if record_id not in self.opportunities:
            return JSONResponse(
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
                status_code=404,
            )
        self.opportunities[record_id].update(fields)
        return Response(status_code=204)
