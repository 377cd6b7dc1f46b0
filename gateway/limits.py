"""ASGI guards in front of GraphQL: body and message size, header size, concurrency."""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# RFC 6455: 1009 "message too big"; the socket is closed, nothing of the message is read.
MESSAGE_TOO_BIG = 1009


def _refusal(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


class BodyLimit:
    """Refuses request bodies (and WebSocket messages) over the cap before GraphQL reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body over {self.max_bytes} bytes"
        await _refusal(413, message, "PAYLOAD_TOO_LARGE")(scope, receive, send)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        closed = False

        async def capped() -> Message:
            nonlocal closed
            message = await receive()
            size = len(message.get("text") or "") + len(message.get("bytes") or b"")
            if message["type"] == "websocket.receive" and size > self.max_bytes:
                closed = True
                await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG, "reason": ""})
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        async def unless_closed(message: Message) -> None:
            if not closed:  # the application may still try to say goodbye
                await send(message)

        await self.app(scope, capped, unless_closed)


class _TooLarge(Exception):
    pass


class HeaderLimit:
    """An Authorization header over the cap is answered 431 before anyone parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"}:
            for name, value in scope["headers"]:
                if name == b"authorization" and len(value) > self.max_bytes:
                    if scope["type"] == "websocket":  # refused before the handshake: HTTP 403
                        await send({"type": "websocket.close", "code": 1008, "reason": ""})
                        return
                    message = f"the Authorization header is over {self.max_bytes} bytes"
                    refusal = _refusal(431, message, "REQUEST_HEADER_FIELDS_TOO_LARGE")
                    await refusal(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class BoundedConcurrency:
    """At most `limit` GraphQL requests over HTTP run at once; the others wait their turn.

    Execution is CPU-bound, so more at once adds no throughput, only memory: a page of 100
    engagements holds megabytes of objects while it runs, and 64 of them at once took the
    gateway past 240 MB. Nobody is refused. Operations over a WebSocket take their turns from
    a semaphore of the same size in gateway/gate.py, while they execute.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.turns = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.turns:
            await self.app(scope, receive, send)
