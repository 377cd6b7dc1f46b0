"""The shape our server interceptors share: wrap each unary method's behaviour, once."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Behavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


class UnaryInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps the behaviour of every unary-unary method with `wrap`; streaming methods (health
    Watch, reflection) pass through. grpc.aio asks interceptors for a handler on every call, so
    the wrapped handler is kept per method and rebuilt only if the inner one changes."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[Behavior, grpc.RpcMethodHandler]] = {}

    @abc.abstractmethod
    def wrap(self, inner: Behavior, method: str) -> Behavior:
        """The behaviour to serve `method` (e.g. "/weftwork.customer.v1.CustomerService/X")."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        kept = self._handlers.get(details.method)
        if kept is not None and kept[0] is handler.unary_unary:
            return kept[1]
        wrapped = grpc.unary_unary_rpc_method_handler(
            self.wrap(handler.unary_unary, details.method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._handlers[details.method] = (handler.unary_unary, wrapped)
        return wrapped
