"""Domain errors: pure Python, mapped to gRPC status (and GraphQL codes) in one place each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of every error a user can cause; never a bug."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    def __init__(self, violations: list[FieldViolation], message: str | None = None) -> None:
        if not violations:
            raise ValueError("InvalidArgument needs at least one field violation")
        super().__init__(message or "; ".join(f"{v.field}: {v.description}" for v in violations))
        self.violations = list(violations)

    @classmethod
    def one(cls, field: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field, description)])


class NotFound(DomainError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class FailedPrecondition(DomainError):
    """The request is well formed but the aggregate is in the wrong state for it."""


class AlreadyExists(DomainError):
    """Only where a retry cannot be made idempotent."""


class Unavailable(DomainError):
    """A dependency is down; the caller may retry later."""


class Violations:
    """Collects field violations so a request reports all its mistakes at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)
