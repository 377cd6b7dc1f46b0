"""Who is calling: JWT bearer tokens, roles and the legal entities a caller may see and change."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from gateway.errors import Forbidden, Unauthenticated
from mesh.settings import Settings
from mesh.tokens import ROLES
from mesh.trust_settings import LOCAL_AUDIENCE, LOCAL_ISSUER

ALL_ENTITIES = "*"
CLOCK_SKEW_SECONDS = 30
MAX_TOKEN_CHARS = (
    65_536  # the header's own cap (WEFTWORK_GATEWAY_MAX_AUTHORIZATION_BYTES) comes first
)

# DESIGN.md §4: which roles may run each mutation (admin may run everything).
MUTATION_ROLES: dict[str, frozenset[str]] = {
    "closeWonOpportunity": frozenset({"sales"}),
    "updateCustomer": frozenset({"sales", "finance"}),
    "setPurchaseOrderNumber": frozenset({"finance"}),
    **dict.fromkeys(
        [
            "upsertPerson",
            "submitTime",
            "approveTime",
            "rejectTime",
            "submitExpense",
            "approveExpenses",
            "rejectExpenses",
            "adjustTime",
            "completeMilestone",
            "completeEngagement",
        ],
        frozenset({"delivery"}),
    ),
    **dict.fromkeys(
        [
            "runBilling",
            "issueInvoice",
            "voidInvoice",
            "recordPayment",
            "closePeriod",
            "mergeCustomers",
            "approveEngagement",
            "amendEngagement",
        ],
        frozenset({"finance"}),
    ),
}
COST_ROLES = frozenset({"finance", "executive", "admin"})


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    entities: frozenset[str] | None  # None: every entity ("*")
    expires_at: float | None = field(default=None, compare=False)  # the token's exp

    @property
    def sees_costs(self) -> bool:
        """Cost, margin and margin % are for finance, executives and admins only."""
        return bool(self.roles & COST_ROLES)

    def sees(self, entity: str) -> bool:
        return self.entities is None or entity in self.entities

    def require(self, operation: str, *entities: str) -> None:
        """Refuse unless a role allows `operation` and every entity the caller named is in scope.

        Only for entities the caller sent (an argument): an object found by id outside the
        caller's scope is NOT_FOUND, like a missing one (gateway/scope.py)."""
        allowed = MUTATION_ROLES.get(operation, frozenset()) | {"admin"}
        self.require_role(operation, allowed)
        outside = sorted(e for e in entities if not self.sees(e))
        if outside:
            raise Forbidden(f"legal entity {outside[0]} is outside your scope")

    def require_role(self, operation: str, allowed: frozenset[str]) -> None:
        if not self.roles & allowed:
            raise Forbidden(f"{operation} needs one of the roles {', '.join(sorted(allowed))}")


class TokenVerifier:
    """One algorithm family per deployment: RS256 with an identity provider's public key when
    one is configured (a local HS256 secret is then never accepted), else HS256 with the secret.
    Issuer, audience, a maximum lifetime and the claims' types are checked on every token."""

    def __init__(
        self,
        *,
        secret: str | None,
        public_key: str | None,
        issuer: str = LOCAL_ISSUER,
        audience: str = LOCAL_AUDIENCE,
        max_lifetime_seconds: int = 86_400,
    ) -> None:
        if public_key:
            self._algorithm, self._key = "RS256", public_key
        elif secret:
            self._algorithm, self._key = "HS256", secret
        else:
            raise ValueError("set WEFTWORK_JWT_SECRET or WEFTWORK_JWT_PUBLIC_KEY for the gateway")
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime_seconds = max_lifetime_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        return cls(
            secret=settings.jwt_secret,
            public_key=settings.jwt_public_key,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
        )

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def verify(self, authorization: str | None) -> Principal:
        if not authorization or len(authorization) > MAX_TOKEN_CHARS:
            raise Unauthenticated("send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <token>")
        try:
            claims = jwt.decode(
                token.strip(),
                self._key,
                algorithms=[self._algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["sub", "exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except (jwt.InvalidTokenError, TypeError, ValueError):
            raise Unauthenticated("the token is not valid") from None
        self._check_lifetime(claims)
        return _principal(claims)

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        issued, expires = claims["iat"], claims["exp"]
        if not _is_number(issued) or not _is_number(expires):
            raise Unauthenticated("the token is not valid")
        if issued > time.time() + CLOCK_SKEW_SECONDS:
            raise Unauthenticated("the token is not valid yet")
        if expires - issued > self.max_lifetime_seconds:
            raise Unauthenticated(
                f"the token lives longer than {self.max_lifetime_seconds} seconds; ask for a "
                "shorter-lived one"
            )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _principal(claims: dict[str, Any]) -> Principal:
    subject, roles, entities = claims.get("sub"), claims.get("roles"), claims.get("entities")
    if not isinstance(subject, str) or not subject or len(subject) > 256:
        raise Unauthenticated("the token's sub must be a non-empty string")
    if (
        not isinstance(roles, list)
        or not roles
        or not all(isinstance(r, str) and r in ROLES for r in roles)
    ):
        raise Unauthenticated(
            f"the token's roles must be a non-empty list of {', '.join(sorted(ROLES))}"
        )
    if (
        not isinstance(entities, list)
        or not entities
        or not all(isinstance(e, str) and 0 < len(e) <= 32 for e in entities)
        or (ALL_ENTITIES in entities and len(entities) != 1)
    ):
        raise Unauthenticated(
            'the token\'s entities must be a list of legal entities, or ["*"] alone'
        )
    scope = None if entities == [ALL_ENTITIES] else frozenset(entities)
    return Principal(subject, frozenset(roles), scope, expires_at=float(claims["exp"]))
