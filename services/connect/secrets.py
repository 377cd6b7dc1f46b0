"""Secrets at rest: Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key
from the environment (WEFTWORK_CONNECT_SECRET_KEY; a Kubernetes Secret in production, a file
in the data dir that the local stack generates)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretKeyMissing(RuntimeError):
    """Connect cannot start without the key that opens its stored secrets."""


class FernetBox:
    def __init__(self, key: str | None) -> None:
        if not key:
            raise SecretKeyMissing(
                "set WEFTWORK_CONNECT_SECRET_KEY (a Fernet key: python -c 'from cryptography"
                ".fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:
            raise SecretKeyMissing(
                "WEFTWORK_CONNECT_SECRET_KEY is not a Fernet key (urlsafe base64 of 32 bytes)"
            ) from None

    def seal(self, plain: str) -> bytes:
        return self._fernet.encrypt(plain.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(sealed)).decode()
        except InvalidToken:
            raise SecretKeyMissing(
                "a stored secret does not open with WEFTWORK_CONNECT_SECRET_KEY (was the key "
                "replaced?)"
            ) from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
