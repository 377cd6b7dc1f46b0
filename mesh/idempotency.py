"""Idempotency keys, one mechanism for every service (DESIGN.md §6, Stripe's rule).

A write that takes `idempotency_key` runs once per (method, key): the key is claimed in the
same transaction as the change, with a fingerprint of the request and, before commit, the
response. A retry with the same key and the same request gets that first response; the same
key with another request is refused with IdempotencyKeyReused, never answered with the first
result. Natural keys (a payment's reference, an opportunity's id) refuse other content with
the same error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import asyncpg
from google.protobuf.message import Message

from mesh.errors import AlreadyExists, InvalidArgument

KEY_FIELD = "idempotency_key"
MAX_KEY = 128
# The reason clients (the gateway: CONFLICT) can tell this conflict by. It leads the message,
# and is the error's `reason`, for an ErrorInfo detail once the error mapping carries one.
REUSED = "IDEMPOTENCY_KEY_REUSED"

M = TypeVar("M", bound=Message)


class IdempotencyKeyReused(AlreadyExists):
    """The key was used before for a request with other content (ALREADY_EXISTS)."""

    reason = REUSED

    def __init__(self, what: str) -> None:
        super().__init__(f"{REUSED}: {what}")


def fingerprint(request: Message) -> bytes:
    """SHA-256 of the request's deterministic serialization without its key: a retry must ask
    for exactly the same thing, field for field."""
    bare = type(request)()
    bare.CopyFrom(request)
    bare.ClearField(KEY_FIELD)
    return hashlib.sha256(bare.SerializeToString(deterministic=True)).digest()


@dataclass(frozen=True)
class KeptResponse:
    fingerprint: bytes
    response: bytes


class KeptResponses(Protocol):
    """What a repository offers for idempotency keys (KeptResponseRows in SQL)."""

    async def claim_request(
        self, method: str, key: str, fingerprint: bytes
    ) -> KeptResponse | None: ...
    async def keep_response(self, method: str, key: str, response: bytes) -> None: ...


R = TypeVar("R", bound=KeptResponses)


class KeptResponseRows:
    """The SQL of kept responses (the kit's idempotent_requests table), mixed into a store
    that has `conn`, bound to the caller's transaction."""

    conn: asyncpg.Connection

    async def claim_request(self, method: str, key: str, fingerprint: bytes) -> KeptResponse | None:
        """None when this transaction claimed the key; else what its first request kept. A
        concurrent first request holds the key until it commits, so its twin waits for it."""
        claimed = await self.conn.fetchval(
            "INSERT INTO idempotent_requests (method, key, fingerprint) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            method,
            key,
            fingerprint,
        )
        if claimed:
            return None
        row = await self.conn.fetchrow(
            "SELECT fingerprint, response FROM idempotent_requests WHERE method = $1 AND key = $2",
            method,
            key,
        )
        assert row is not None and row["response"] is not None, "kept with its claim"
        return KeptResponse(row["fingerprint"], row["response"])

    async def keep_response(self, method: str, key: str, response: bytes) -> None:
        await self.conn.execute(
            "UPDATE idempotent_requests SET response = $3 WHERE method = $1 AND key = $2",
            method,
            key,
            response,
        )


async def once(
    transact: Callable[[Callable[[R], Awaitable[M]]], Awaitable[M]],
    request: Message,
    response_type: type[M],
    work: Callable[[R], Awaitable[M]],
) -> M:
    """Runs work in one transaction; with request.idempotency_key, claims the key in that same
    transaction, so the kept response and the change commit (or vanish) together."""
    key: str = getattr(request, KEY_FIELD)
    if len(key) > MAX_KEY:
        raise InvalidArgument.one(KEY_FIELD, f"must be at most {MAX_KEY} characters")
    if not key:
        return await transact(work)
    method = request.DESCRIPTOR.full_name
    digest = fingerprint(request)

    async def claimed(repo: R) -> M:
        kept = await repo.claim_request(method, key, digest)
        if kept is None:
            response = await work(repo)
            await repo.keep_response(method, key, response.SerializeToString(deterministic=True))
            return response
        if kept.fingerprint != digest:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} of {method} was first used for a different request"
            )
        return response_type.FromString(kept.response)

    return await transact(claimed)
