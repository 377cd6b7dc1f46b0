"""What a client sees of each error, and what the log sees.

A client's mistake (a bad document, variable or value, a refused token, a service's
INVALID_ARGUMENT) is answered with its code and logged at DEBUG, without a traceback. Only a
bug (an unexpected exception while resolving, or in the gateway's own checks) becomes a bare
INTERNAL_SERVER_ERROR, and is logged once as an error with its traceback.
"""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from gateway.errors import GatewayError

log = logging.getLogger("gateway.errors")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _causes(error: GraphQLError) -> list[BaseException]:
    """The exceptions a GraphQL error wraps, outermost first (graphql-core nests GraphQLErrors)."""
    chain: list[BaseException] = []
    cause = error.original_error
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.original_error if isinstance(cause, GraphQLError) else None
    return chain


def ours(error: GraphQLError) -> GatewayError | None:
    return next((c for c in _causes(error) if isinstance(c, GatewayError)), None)


def is_bug(error: GraphQLError) -> bool:
    """Raised by our code rather than about the client's request."""
    if ours(error) is not None:
        return False
    foreign = [c for c in _causes(error) if not isinstance(c, GraphQLError)]
    if error.path is None:  # about the request itself: parsing, validation, variables
        return bool(foreign) and not isinstance(foreign[-1], RecursionError)
    return True


def shown(error: GraphQLError, *, hide_suggestions: bool) -> GraphQLError:
    """The error as the client sees it: its code, or INTERNAL_SERVER_ERROR and nothing more."""
    if (error.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR":
        return error  # masked already
    if is_bug(error):
        log.error(
            "unexpected error in %s",
            ".".join(str(p) for p in error.path or ()) or "the operation",
            exc_info=next((c for c in reversed(_causes(error))), None),
        )
        return GraphQLError(
            "internal error",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
    mine = ours(error)
    if mine is not None:
        error.extensions = {**(error.extensions or {}), **mine.extensions}
    elif not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
    if hide_suggestions and "Did you mean" in error.message:
        error.message = _SUGGESTION.sub("", error.message)
    log.debug("refused: %s %s", (error.extensions or {}).get("code"), error.message)
    return error


class ClientErrors(MaskErrors):
    """Codes on every error, bugs masked, suggestions ("Did you mean …") off with introspection.

    Errors raised before the operation's extensions run (a document that does not parse) miss
    this hook; WeftworkSchema.execute passes those through `shown` too."""

    def __init__(self, *, hide_suggestions: bool) -> None:
        super().__init__(error_message="internal error")
        self.hide_suggestions = hide_suggestions

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [shown(error, hide_suggestions=self.hide_suggestions) for error in errors]
