"""Who a call acts for, across gRPC: metadata the gateway (or a calling service) sets, read by
every server into the call's audit scope (mesh.audit.scope), forwarded on the calls it makes.

Only identities the server trusts reach it (mutual TLS and the callers' allow-list,
mesh.grpc.callers): the gateway asserts the user it verified, and a service forwards the
actor it acts for. A call without an actor is the calling service's own
(`service:<its certificate's name>`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

import grpc
from google.protobuf.message import Message

from mesh.audit.scope import (
    UNKNOWN,
    AuditScope,
    acting,
    carried_ids,
    clean,
    current,
    request_engagements,
    request_targets,
    service_actor,
)
from mesh.grpc.tls import peer_identity
from mesh.grpc.unary import Behavior, UnaryInterceptor

ACTOR = "weftwork-actor"
ON_BEHALF_OF = "weftwork-on-behalf-of"
REQUEST_ID = "x-request-id"


# Metadata values are printable ASCII: anything else (a sub with an accent) is percent-encoded.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def scope_metadata(scope: AuditScope | None) -> list[tuple[str, str]]:
    """The metadata that carries `scope` to the server of a call."""
    if scope is None:
        return []
    pairs = [(ACTOR, scope.actor), (ON_BEHALF_OF, scope.on_behalf_of or "")]
    pairs.append((REQUEST_ID, scope.request_id or ""))
    return [(k, quote(v, safe=_SAFE)) for k, v in pairs if v]


def _read(metadata: dict[str, str], key: str) -> str | None:
    value = metadata.get(key)
    return None if value is None else clean(unquote(value))


class ActorInterceptor(UnaryInterceptor):
    """Runs every unary call in an audit scope: actor, request id, the method as operation,
    and the ids and engagements the request names."""

    def wrap(self, inner: Behavior, method: str) -> Behavior:
        operation = method.lstrip("/")

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            metadata = {
                k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)
            }
            actor = _read(metadata, ACTOR)
            if actor is None:
                peer = peer_identity(context)
                actor = service_actor(peer) if peer else UNKNOWN
            scope = AuditScope(
                actor=actor,
                request_id=_read(metadata, REQUEST_ID),
                on_behalf_of=_read(metadata, ON_BEHALF_OF),
                operation=operation,
            )
            if isinstance(request, Message):  # not a generic handler's raw bytes
                scope.targets = request_targets(request)
                scope.carried = carried_ids(request)
                scope.engagement_ids = request_engagements(request)
            with acting(scope):
                return await inner(request, context)

        return behavior


class ForwardActor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Adds the current audit scope's actor and request id to every outgoing call."""

    async def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Awaitable[Any]], details: Any, request: Any
    ) -> Any:
        pairs = scope_metadata(current())
        if pairs:
            known = {k for k, _ in pairs}
            kept = [(k, v) for k, v in (details.metadata or ()) if k not in known]
            details = details._replace(metadata=grpc.aio.Metadata(*kept, *pairs))
        return await continuation(details, request)
