"""The per-request context: the caller, the shared service clients, and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from strawberry.types import Info as StrawberryInfo

from gateway.auth import Principal, TokenVerifier
from gateway.clients import ServiceClients
from gateway.loaders import Loaders
from mesh.events.nats import NatsConnection
from mesh.settings import Settings


@dataclass
class Context:
    clients: ServiceClients
    verifier: TokenVerifier
    settings: Settings
    authorization: str | None
    nats: NatsConnection
    request: Any = None
    response: Any = None
    # Set by the websocket protocol from the connection_init payload.
    connection_params: dict[str, Any] | None = None
    # The principal whose socket this connection holds (gateway/sockets.py), until it closes.
    socket_holder: str | None = None
    # X-Request-Id (the caller's, or a new one), recorded with every change the request makes.
    request_id: str | None = None

    @cached_property
    def loaders(self) -> Loaders:
        """Created per request, when first used (not by an answer from the response cache): a
        loader's cache must never outlive one caller's request."""
        return Loaders(self.clients)

    @cached_property
    def principal(self) -> Principal:
        """The verified caller; raises UNAUTHENTICATED when the token is missing or bad."""
        header = self.authorization
        if header is None and self.connection_params:
            raw = self.connection_params.get("Authorization") or self.connection_params.get(
                "authorization"
            )
            header = raw if isinstance(raw, str) else None
        return self.verifier.verify(header)


Info = StrawberryInfo[Context, None]
