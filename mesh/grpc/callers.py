"""Per-RPC allow-lists of calling identities, enforced on mutual-TLS servers (DESIGN.md §6).

A service declares, for every method of its API, which identities (services, `gateway`,
`ops`) may call it; the caller is named by its certificate (mesh.grpc.tls.peer_identity).
Anything not allowed, including a method nobody declared, is PERMISSION_DENIED. Without TLS
there is no identity to check and the server allows every call.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection

from mesh.grpc.tls import peer_identity
from mesh.settings import GATEWAY, OPS

ANY_PEER = "*"  # every identity the CA signed: health checks
# "/weftwork.project.v1.ProjectService/ApproveTime" -> the identities allowed to call it.
Callers = Mapping[str, frozenset[str]]


def callers_of(full_name: str, table: Mapping[str, Collection[str]]) -> dict[str, frozenset[str]]:
    """A service's table {method: identities} as full method paths; every method of the service
    must be listed (a new RPC gets an explicit decision) and nothing else."""
    methods = {m.name for m in descriptor_pool.Default().FindServiceByName(full_name).methods}
    if missing := sorted(methods - set(table)):
        raise ValueError(f"{full_name}: no callers declared for {', '.join(missing)}")
    if unknown := sorted(set(table) - methods):
        raise ValueError(f"{full_name} has no method {', '.join(unknown)}")
    return {f"/{full_name}/{method}": frozenset(who) for method, who in table.items()}


def gateway_and(
    full_name: str, services: Mapping[str, Collection[str]] | None = None
) -> dict[str, frozenset[str]]:
    """Every method of a domain API to the gateway (the public API's one door, which
    authorizes users itself), and to the services named for a method (the call graph of
    DESIGN.md §1, e.g. {"ResolveCustomer": {"project"}}) and nobody else."""
    service = descriptor_pool.Default().FindServiceByName(full_name)
    extra = services or {}
    if unknown := sorted(set(extra) - {m.name for m in service.methods}):
        raise ValueError(f"{full_name} has no method {', '.join(unknown)}")
    return callers_of(
        full_name, {m.name: {GATEWAY, *extra.get(m.name, ())} for m in service.methods}
    )


def everyone(full_name: str) -> dict[str, frozenset[str]]:
    service = descriptor_pool.Default().FindServiceByName(full_name)
    return callers_of(full_name, {m.name: {ANY_PEER} for m in service.methods})


def server_callers() -> dict[str, frozenset[str]]:
    """What every server serves besides its API: health to any peer, reflection to operators."""
    health = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
    return {
        **everyone(health),
        f"/{reflection.SERVICE_NAME}/ServerReflectionInfo": frozenset({OPS}),
    }


Check = Callable[[grpc.aio.ServicerContext], Awaitable[None]]


def _check(method: str, allowed: frozenset[str]) -> Check:
    async def check(context: grpc.aio.ServicerContext) -> None:
        caller = peer_identity(context)
        if caller is not None and (caller in allowed or ANY_PEER in allowed):
            return
        who = caller or "an unnamed peer"
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{who} may not call {method}")

    return check


def _guarded(handler: grpc.RpcMethodHandler, check: Check) -> grpc.RpcMethodHandler:
    """The same handler, checking the caller before its behaviour runs."""
    if handler.unary_unary is not None or handler.stream_unary is not None:
        inner = handler.unary_unary or handler.stream_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await check(context)
            return await inner(request, context)

        make = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary is not None
            else grpc.stream_unary_rpc_method_handler
        )
        return make(unary, handler.request_deserializer, handler.response_serializer)
    inner = handler.unary_stream or handler.stream_stream
    make = (
        grpc.unary_stream_rpc_method_handler
        if handler.unary_stream is not None
        else grpc.stream_stream_rpc_method_handler
    )
    if inspect.isasyncgenfunction(inner):

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            await check(context)
            async for response in inner(request, context):
                yield response

        return make(streaming, handler.request_deserializer, handler.response_serializer)

    async def writing(request: Any, context: grpc.aio.ServicerContext) -> Any:  # context.write
        await check(context)
        return await inner(request, context)

    return make(writing, handler.request_deserializer, handler.response_serializer)


class CallerAllowList(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses every call whose caller the table does not allow for its method."""

    def __init__(self, callers: Callers) -> None:
        self._callers = callers
        self._handlers: dict[str, tuple[object, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None
        # grpc.aio asks on every call: the guarded handler is kept while the inner one stays.
        behavior = (
            handler.unary_unary
            or handler.unary_stream
            or handler.stream_unary
            or handler.stream_stream
        )
        kept = self._handlers.get(details.method)
        if kept is not None and kept[0] is behavior:
            return kept[1]
        allowed = self._callers.get(details.method, frozenset())
        guarded = _guarded(handler, _check(details.method, allowed))
        self._handlers[details.method] = (behavior, guarded)
        return guarded
