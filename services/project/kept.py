"""Idempotency keys: the first response to (method, key) is kept and replayed for retries."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

from mesh.errors import InvalidArgument
from services.project.repository import ProjectRepository, Transact

M = TypeVar("M", bound=Message)
MAX_KEY = 128


def _fingerprint(request: Any) -> bytes:
    """The request without its key: a retry must ask for exactly the same thing."""
    bare = type(request)()
    bare.CopyFrom(request)
    bare.ClearField("idempotency_key")
    return hashlib.sha256(bare.SerializeToString(deterministic=True)).digest()


async def once(
    transact: Transact,
    request: Any,
    response_type: type[M],
    work: Callable[[ProjectRepository], Awaitable[M]],
) -> M:
    """Runs work in one transaction; with request.idempotency_key, the key is claimed in that
    same transaction, so the kept response and the change commit (or vanish) together."""
    key: str = request.idempotency_key
    if not key:
        return await transact(work)
    if len(key) > MAX_KEY:
        raise InvalidArgument.one("idempotency_key", f"must be at most {MAX_KEY} characters")
    method = type(request).DESCRIPTOR.full_name
    fingerprint = _fingerprint(request)

    async def claimed(repo: ProjectRepository) -> M:
        kept = await repo.claim_request(method, key, fingerprint)
        if kept is not None:
            if kept.fingerprint != fingerprint:
                raise InvalidArgument.one(
                    "idempotency_key", "was already used for a different request"
                )
            return response_type.FromString(kept.response)
        response = await work(repo)
        await repo.keep_response(method, key, response.SerializeToString(deterministic=True))
        return response

    return await transact(claimed)
