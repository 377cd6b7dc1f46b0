"""Secrets at rest: Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key
from the environment (WEFTWORK_CONNECT_SECRET_KEY; a Kubernetes Secret in production, a file
in the data dir that the local stack generates).

Without a key connect still starts (health, receipts already stored), but every use of a
secret fails loudly: creating a source, verifying a webhook. A key is never invented here: one
made up on start would be lost with the pod, and every stored secret with it.
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken

from mesh.errors import FailedPrecondition

log = logging.getLogger(__name__)
HOW = (
    "set WEFTWORK_CONNECT_SECRET_KEY to a Fernet key (python -c 'from cryptography.fernet"
    " import Fernet; print(Fernet.generate_key().decode())')"
)


class SecretKeyMissing(FailedPrecondition):
    """Connect has no key (or the wrong one) for its stored secrets."""


class FernetBox:
    def __init__(self, key: str | None) -> None:
        self._fernet: Fernet | None = None
        if not key:
            log.error("no secret key: sources cannot be created or verified; %s", HOW)
            return
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:
            raise SecretKeyMissing(
                "WEFTWORK_CONNECT_SECRET_KEY is not a Fernet key (urlsafe base64 of 32 bytes)"
            ) from None

    def _key(self) -> Fernet:
        if self._fernet is None:
            raise SecretKeyMissing(f"connect has no secret key; {HOW}")
        return self._fernet

    def seal(self, plain: str) -> bytes:
        return self._key().encrypt(plain.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._key().decrypt(bytes(sealed)).decode()
        except InvalidToken:
            raise SecretKeyMissing(
                "a stored secret does not open with WEFTWORK_CONNECT_SECRET_KEY (was the key "
                "replaced?)"
            ) from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
