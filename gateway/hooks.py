"""`POST /hooks/{source}`: webhook intake, the only HTTP door for other systems (DESIGN.md §7).

The gateway only carries the request: it caps the body (413 before reading past the cap),
then hands method, URL, headers and the raw bytes to connect, which owns the secrets,
verifies, stores and decides the answer. Connect being away is a 503 with Retry-After, so the
sender retries rather than losing the event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import grpc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.audit.scope import request_id_of
from gateway.clients import ServiceClients
from mesh.audit.scope import AuditScope, acting
from weftwork.connect.v1 import connect_service_pb2 as pb

log = logging.getLogger(__name__)
MAX_SOURCE_NAME = 63
# Verifying and storing takes milliseconds; the sender wants an answer within a second.
CONNECT_DEADLINE = 5.0


class _TooLarge(Exception):
    pass


async def _body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def hook_endpoint(
    clients: ServiceClients, max_bytes: int
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint, bound to the gateway's shared connect client."""

    async def receive_hook(request: Request) -> Response:
        source = request.path_params["source"]
        if len(source) > MAX_SOURCE_NAME:
            return JSONResponse({"error": "no such inbound source"}, status_code=404)
        try:
            body = await _body(request, max_bytes)
        except _TooLarge:
            return JSONResponse({"error": f"body over {max_bytes} bytes"}, status_code=413)
        hook = pb.ReceiveWebhookRequest(
            source=source,
            method=request.method,
            url=str(request.url),
            headers=[pb.HttpHeader(name=k.lower(), value=v) for k, v in request.headers.items()],
            body=body,
        )
        try:
            # wait_for_ready: a connect restarting (a reconnect in backoff) is waited for within
            # the deadline rather than refused at once.
            # Audited as the source's webhook (its signature is connect's to check).
            with acting(AuditScope(actor=f"webhook:{source}", request_id=request_id_of(request))):
                answer = await clients.connect.ReceiveWebhook(
                    hook, timeout=CONNECT_DEADLINE, wait_for_ready=True
                )
        except grpc.aio.AioRpcError as error:
            log.warning("connect did not take a webhook", extra={"code": error.code().name})
            return JSONResponse(
                {"error": "intake unavailable; retry"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return Response(
            answer.body, status_code=answer.http_status, media_type=answer.content_type or None
        )

    return receive_hook
