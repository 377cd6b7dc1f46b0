"""`POST /hooks/{source}`: webhook intake, the only HTTP door for other systems (DESIGN.md §7).

The gateway only carries the request: it caps the body (413 before reading past the cap),
then hands method, URL, headers and the raw bytes to connect, which owns the secrets,
verifies, stores and decides the answer. Connect being away is a 503 with Retry-After, so the
sender retries rather than losing the event.

The path is lean, because intake is measured against a bare Starlette endpoint (make bench):
a plain ASGI handler the app calls before its middleware and router (gateway/app.py), and
requests that arrive while a call to connect is in flight go together in the next
ReceiveWebhooks call on a channel of their own without client interceptors (one call, one
span-less round trip, one commit in connect for the lot). Each sender still gets its answer
only once connect has stored its receipts.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from typing import Any

import grpc
from starlette.datastructures import URL
from starlette.types import Receive, Scope, Send

from weftwork.connect.v1 import connect_service_pb2 as pb
from weftwork.connect.v1 import connect_service_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)
PREFIX = "/hooks/"
MAX_SOURCE_NAME = 63
# Verifying and storing takes milliseconds; the sender wants an answer within a second.
CONNECT_DEADLINE = 5.0
CALLS_IN_FLIGHT = 2  # ReceiveWebhooks calls at once; later requests join the next one
MAX_HOOKS_PER_CALL = 64
MAX_BYTES_PER_CALL = 3 * 1024 * 1024  # under gRPC's 4 MiB message limit (a body is <= 1 MiB)
UNAVAILABLE = (503, "application/json", b'{"error": "intake unavailable; retry"}')


class _TooLarge(Exception):
    pass


# A request waiting for ReceiveWebhooks: the request, its answer, its deadline (monotonic).
_Queued = tuple[pb.ReceiveWebhookRequest, asyncio.Future[pb.ReceiveWebhookResponse], float]


class HookSender:
    """ReceiveWebhooks in batches: a request waits only for a free call, never for a timer."""

    def __init__(self, stub: pb_grpc.ConnectServiceStub) -> None:
        self.stub = stub
        self._queue: collections.deque[_Queued] = collections.deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, hook: pb.ReceiveWebhookRequest) -> pb.ReceiveWebhookResponse:
        """connect's answer; raises grpc.aio.AioRpcError when connect did not take it."""
        answer: asyncio.Future[pb.ReceiveWebhookResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.append((hook, answer, time.monotonic() + CONNECT_DEADLINE))
        self._start()
        return await answer

    def _start(self) -> None:
        while self._queue and self._in_flight < CALLS_IN_FLIGHT:
            batch = self._take()
            if not batch:
                continue
            self._in_flight += 1
            task = asyncio.create_task(self._call(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self) -> list[_Queued]:
        """The next batch, oldest first; a request that already waited out its deadline
        (connect slow or away) is answered 503 instead, so the queue cannot grow stale."""
        batch: list[_Queued] = []
        size = 0
        now = time.monotonic()
        while self._queue and len(batch) < MAX_HOOKS_PER_CALL:
            hook, answer, deadline = self._queue[0]
            if deadline <= now:
                self._queue.popleft()
                if not answer.done():
                    answer.set_exception(TimeoutError("waited too long for connect"))
                continue
            size += len(hook.body)
            if batch and size > MAX_BYTES_PER_CALL:
                break
            batch.append(self._queue.popleft())
        return batch

    async def _call(self, batch: list[_Queued]) -> None:
        try:
            # wait_for_ready: a connect restarting (a reconnect in backoff) is waited for
            # within the deadline rather than refused at once.
            got = await self.stub.ReceiveWebhooks(
                pb.ReceiveWebhooksRequest(hooks=[hook for hook, _, _ in batch]),
                timeout=max(0.1, min(d for _, _, d in batch) - time.monotonic()),
                wait_for_ready=True,
            )
            answers: list[Any] = list(got.answers)
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to {len(batch)} webhooks")
        except Exception as exc:
            answers = [exc] * len(batch)
        finally:
            self._in_flight -= 1
            self._start()
        for (_, future, _), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)


async def _body(receive: Receive, declared: str, max_bytes: int) -> bytes:
    if declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the sender went away
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class HookApp:
    """The ASGI handler of POST /hooks/{source} (paths under PREFIX only)."""

    def __init__(self, sender: HookSender, max_bytes: int) -> None:
        self.sender = sender
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = scope["path"][len(PREFIX) :]
        if not source or "/" in source:
            await _answer(send, 404, "application/json", _error("not found"))
            return
        if scope["method"] != "POST":
            await _answer(send, 405, "application/json", _error("POST only"), {"allow": "POST"})
            return
        if len(source) > MAX_SOURCE_NAME:
            await _answer(send, 404, "application/json", _error("no such inbound source"))
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        declared = next((v for k, v in headers if k == "content-length"), "")
        try:
            body = await _body(receive, declared, self.max_bytes)
        except _TooLarge:
            error = _error(f"body over {self.max_bytes} bytes")
            await _answer(send, 413, "application/json", error)
            return
        except ConnectionAbortedError:
            return
        hook = pb.ReceiveWebhookRequest(
            source=source,
            method="POST",
            url=str(URL(scope=scope)),
            headers=[pb.HttpHeader(name=k, value=v) for k, v in headers],
            body=body,
        )
        try:
            answer = await self.sender.send(hook)
        except grpc.aio.AioRpcError as error:
            log.warning("connect did not take a webhook", extra={"code": error.code().name})
            await _answer(send, *UNAVAILABLE, {"retry-after": "5"})
            return
        except Exception as error:  # anything else: the sender retries, nothing is lost
            log.warning("connect did not take a webhook", extra={"error": repr(error)})
            await _answer(send, *UNAVAILABLE, {"retry-after": "5"})
            return
        await _answer(send, answer.http_status, answer.content_type, answer.body)
