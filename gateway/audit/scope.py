"""Each GraphQL operation runs in an audit scope: the verified caller's `sub` and the request
id, which mesh.grpc.client forwards as metadata on every gRPC call the operation makes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

from strawberry.extensions import SchemaExtension

from gateway.errors import GatewayError
from mesh.audit.scope import AuditScope, acting, clean

REQUEST_ID_HEADER = "x-request-id"


def request_id_of(request: Any) -> str:
    """The caller's X-Request-Id when it is fit to record (printable, ≤ 256), else a new one."""
    headers = getattr(request, "headers", None)
    given = clean(headers.get(REQUEST_ID_HEADER)) if headers is not None else None
    return given or uuid4().hex


class AuditScopes(SchemaExtension):
    """The operation's actor and request id, current while it runs. An operation without a valid
    token acts for nobody: its resolvers refuse it before any service is called."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None) or uuid4().hex
        try:
            actor = context.principal.subject
        except GatewayError:
            yield
            return
        with acting(AuditScope(actor=actor, request_id=request_id)):
            yield
