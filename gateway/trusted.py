"""Trusted documents: which GraphQL documents the gateway runs (docs/security.md).

In production (`WEFTWORK_GATEWAY_ANY_DOCUMENT` off, its default without `WEFTWORK_DEV_MODE`) a
document runs only when its SHA-256 is registered: the console's own documents
(gateway/console/graphql, built into manifest.json by `make console-documents`) and the
operator's (`WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS`, e.g. a portal's). A client sends the document,
its hash (Apollo's automatic persisted queries: `extensions.persistedQuery.sha256Hash`,
version 1), or both; anything else is DOCUMENT_NOT_TRUSTED and nothing runs. With any document
allowed (development, tests, the bench), a document sent with its hash is also registered, in a
bounded memory store, so the next request may send the hash alone.

A registered document is always handed on as the one string object the registry holds, so
the parser's and the validator's caches (keyed by that string, whose hash Python keeps) find
it without reading it again: each trusted document is parsed and validated once.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from gateway.errors import BadUserInput, GatewayError

MANIFEST = Path(__file__).parent / "console" / "graphql" / "manifest.json"
# What automatic persisted queries may hold when any document runs: characters of documents,
# the least recently used dropped first.
APQ_MAX_CHARS = 8_000_000
APQ_VERSION = 1


class PersistedQueryNotFound(GatewayError):
    """Apollo's answer to a hash it does not know: the client sends the document with it."""

    code = "PERSISTED_QUERY_NOT_FOUND"


class DocumentNotTrusted(GatewayError):
    code = "DOCUMENT_NOT_TRUSTED"


NOT_TRUSTED = (
    "this gateway runs only trusted documents: send the sha256Hash of a registered document "
    "(extensions.persistedQuery), or register the document (docs/security.md)"
)


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(path: Path = MANIFEST) -> dict[str, str]:
    """The console's documents by hash; each hash checked against its document."""
    documents = json.loads(path.read_text(encoding="utf-8"))
    for digest, document in documents.items():
        if sha256(document) != digest:
            raise ValueError(f"{path}: {digest} is not the SHA-256 of its document")
    return dict(documents)


class TrustedDocuments:
    """The registry, and the rule: which document a request runs, or why it runs none."""

    def __init__(
        self,
        trusted: Mapping[str, str],
        *,
        any_document: bool,
        apq_max_chars: int = APQ_MAX_CHARS,
    ) -> None:
        self._trusted = dict(trusted)
        self.any_document = any_document
        self._apq: OrderedDict[str, str] = OrderedDict()
        self._apq_chars = 0
        self._apq_max_chars = apq_max_chars

    @classmethod
    def from_settings(cls, any_document: bool, operator: Mapping[str, str]) -> TrustedDocuments:
        return cls({**load_manifest(), **operator}, any_document=any_document)

    def __contains__(self, digest: object) -> bool:
        return digest in self._trusted

    def __len__(self) -> int:
        return len(self._trusted)

    def resolve(self, query: object, extensions: object) -> object:
        """The document to run (the registry's own string when it is registered); `query`
        unchanged when there is nothing to decide (no document: the view answers that).
        Raises PersistedQueryNotFound, DocumentNotTrusted or BadUserInput."""
        digest = _persisted_hash(extensions)
        if digest is None:
            if not isinstance(query, str):
                return query
            known = self._trusted.get(sha256(query))
            if known is not None:
                return known
            if self.any_document:
                return query
            raise DocumentNotTrusted(NOT_TRUSTED)
        if query is None:
            known = self._trusted.get(digest) or self._recalled(digest)
            if known is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
            return known
        if not isinstance(query, str):
            return query
        if sha256(query) != digest:
            raise BadUserInput("provided sha does not match query")
        known = self._trusted.get(digest)
        if known is not None:
            return known
        if not self.any_document:
            raise DocumentNotTrusted(NOT_TRUSTED)
        return self._remember(digest, query)

    def _recalled(self, digest: str) -> str | None:
        if not self.any_document:
            return None
        found = self._apq.get(digest)
        if found is not None:
            self._apq.move_to_end(digest)
        return found

    def _remember(self, digest: str, query: str) -> str:
        if digest in self._apq:
            self._apq.move_to_end(digest)
            return self._apq[digest]
        if len(query) > self._apq_max_chars:
            return query  # runs, but is not kept
        self._apq[digest] = query
        self._apq_chars += len(query)
        while self._apq_chars > self._apq_max_chars:
            _, dropped = self._apq.popitem(last=False)
            self._apq_chars -= len(dropped)
        return query


def _persisted_hash(extensions: object) -> str | None:
    """extensions.persistedQuery.sha256Hash (lower case), None without persistedQuery."""
    if not isinstance(extensions, Mapping):
        return None
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    version = persisted.get("version") if isinstance(persisted, Mapping) else None
    if not isinstance(persisted, Mapping) or type(version) is not int or version != APQ_VERSION:
        raise BadUserInput("Unsupported persisted query version")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64:
        raise BadUserInput("persistedQuery.sha256Hash must be a SHA-256 in hexadecimal")
    return digest.lower()
