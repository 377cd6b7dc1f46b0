"""Subscriptions over graphql-transport-ws: authenticated in connection_init, bounded per
principal and per connection, and closed when the token they were opened with expires."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage

from gateway.context import Context
from gateway.errors import GatewayError, Unauthenticated
from gateway.trusted import TrustedDocuments

# graphql-transport-ws close codes: 4401 Unauthorized (here: the token expired), 4403 Forbidden
# (strawberry's answer to a rejected connection_init: no valid token, or too many sockets).
TOKEN_EXPIRED = 4401


class SocketCounts:
    """Open sockets per principal (one gateway process; each replica counts its own)."""

    def __init__(self, max_per_principal: int) -> None:
        self.max_per_principal = max_per_principal
        self._open: Counter[str] = Counter()

    def admit(self, context: Context) -> None:
        """Authenticate a connection_init and hold one of the principal's sockets for it."""
        try:
            principal = context.principal
        except Unauthenticated as refusal:
            raise ConnectionRejectionError({"message": str(refusal)}) from None
        if self._open[principal.subject] >= self.max_per_principal:
            raise ConnectionRejectionError(
                {"message": f"at most {self.max_per_principal} open sockets per caller"}
            )
        self._open[principal.subject] += 1
        context.socket_holder = principal.subject

    def release(self, context: Context) -> None:
        holder, context.socket_holder = context.socket_holder, None
        if holder is not None:
            self._open[holder] -= 1
            if self._open[holder] <= 0:
                del self._open[holder]

    def __len__(self) -> int:
        return sum(self._open.values())


class GuardedSocket(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's handler, closing the socket when its token expires and freeing its slot."""

    _expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._expiry is None:
            expires_at = self.context.principal.expires_at
            if expires_at is not None:
                self._expiry = asyncio.create_task(self._close_at(expires_at))

    async def handle_subscribe(self, message: Any) -> None:
        """Trusted documents only, as over HTTP (gateway/trusted.py): a refused operation gets
        an `error` message with the refusal's code and runs nothing."""
        documents = getattr(self.view, "documents", None)
        payload = message.get("payload") if isinstance(message, dict) else None
        if self.connection_acknowledged and isinstance(documents, TrustedDocuments):
            if not isinstance(payload, dict):
                await self.handle_invalid_message("Failed to parse message")
                return
            try:
                query = documents.resolve(payload.get("query"), payload.get("extensions"))
            except GatewayError as refusal:
                metrics = getattr(self.view, "metrics", None)
                if metrics is not None:
                    metrics.errors.labels("unknown", refusal.code).inc()
                refused = GraphQLError(str(refusal), extensions=refusal.extensions)
                await self.send_message(
                    ErrorMessage(id=message["id"], type="error", payload=[refused.formatted])
                )
                return
            if not isinstance(query, str):
                await self.handle_invalid_message("Failed to parse message")
                return
            message = {**message, "payload": {**payload, "query": query}}
        await super().handle_subscribe(message)

    async def _close_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        with contextlib.suppress(Exception):  # already gone
            await self.websocket.close(code=TOKEN_EXPIRED, reason="the token has expired")

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        try:
            await super().shutdown()
        finally:
            counts = getattr(self.view, "sockets", None)
            if isinstance(counts, SocketCounts):
                counts.release(self.context)
