"""GraphQL over HTTP's two response media types, and the status codes of the newer one.

`application/json` is the legacy type: every well-formed request gets 200 with the errors in
the body, which clients written before the spec expect. `application/graphql-response+json`
is served to a client that asks for it at least as much as for JSON; then a *request error* (the
operation never ran: a document that does not parse or validate, variables that do not
coerce, a caller refused before execution) is a 4xx whose body has no `data` entry, and an
operation that ran is a 200 even when its errors nulled the data (GraphQL over HTTP, "Accept"
and "application/graphql-response+json").
"""

from __future__ import annotations

from collections.abc import Mapping

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

# A request error's status, by the code of its first error (gateway/errors.py); others are 400.
# PERSISTED_QUERY_NOT_FOUND is 200 as Apollo answers it: the client sends the document next.
_REQUEST_ERROR_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "RATE_LIMITED": 429,
    "PERSISTED_QUERY_NOT_FOUND": 200,
}


def response_media_type(accept: str | None) -> str:
    """The type to answer with: the newer one only when the Accept header ranks it at least as
    high as application/json (absent, `*/*` or JSON alone: the legacy type)."""
    accept = (accept or "").lower()  # media types are case-insensitive
    if GRAPHQL_RESPONSE not in accept:
        return JSON
    ranks = {GRAPHQL_RESPONSE: 0.0, JSON: 0.0}
    for entry in accept.split(","):
        media_type, *parameters = (part.strip() for part in entry.split(";"))
        if media_type not in ranks:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranks[media_type] = max(ranks[media_type], quality)
    preferred = ranks[GRAPHQL_RESPONSE]
    return GRAPHQL_RESPONSE if preferred > 0 and preferred >= ranks[JSON] else JSON


def request_error_status(payload: Mapping[str, object]) -> int | None:
    """The 4xx of a result whose operation never ran, else None. Such a result has no data and
    no error with a `path` (a path means a field failed while the operation ran)."""
    errors = payload.get("errors")
    if payload.get("data") is not None or not isinstance(errors, list) or not errors:
        return None
    if any(isinstance(error, Mapping) and error.get("path") for error in errors):
        return None
    first = errors[0]
    extensions = first.get("extensions") if isinstance(first, Mapping) else None
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return _REQUEST_ERROR_STATUS.get(code, 400) if isinstance(code, str) else 400
