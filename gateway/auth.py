"""Who is calling: JWT bearer tokens, roles and the legal entities a caller may see and change."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from gateway.errors import Forbidden, Unauthenticated
from mesh.tokens import ROLES

ALL_ENTITIES = "*"

# DESIGN.md §4: which roles may run each mutation (admin may run everything).
MUTATION_ROLES: dict[str, frozenset[str]] = {
    "closeWonOpportunity": frozenset({"sales"}),
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

    @property
    def sees_costs(self) -> bool:
        """Cost, margin and margin % are for finance, executives and admins only."""
        return bool(self.roles & COST_ROLES)

    def sees(self, entity: str) -> bool:
        return self.entities is None or entity in self.entities

    def require(self, operation: str, *entities: str) -> None:
        """Refuse unless a role allows `operation` and every touched entity is in scope."""
        allowed = MUTATION_ROLES.get(operation, frozenset()) | {"admin"}
        if not self.roles & allowed:
            raise Forbidden(f"{operation} needs one of the roles {', '.join(sorted(allowed))}")
        outside = sorted(e for e in entities if not self.sees(e))
        if outside:
            raise Forbidden(
                f"{operation} touches legal entities outside your scope: {', '.join(outside)}"
            )


class TokenVerifier:
    """HS256 with a shared secret (local and tests), or RS256 with an identity provider's key."""

    def __init__(self, *, secret: str | None, public_key: str | None) -> None:
        if not secret and not public_key:
            raise ValueError("set WEFTWORK_JWT_SECRET or WEFTWORK_JWT_PUBLIC_KEY for the gateway")
        self._keys: list[tuple[str, str]] = []
        if public_key:
            self._keys.append(("RS256", public_key))
        if secret:
            self._keys.append(("HS256", secret))

    def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthenticated("send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <token>")
        claims = None
        for algorithm, key in self._keys:
            try:
                claims = jwt.decode(
                    token.strip(), key, algorithms=[algorithm], options={"require": ["sub", "exp"]}
                )
                break
            except jwt.InvalidAlgorithmError:
                continue
            except jwt.ExpiredSignatureError:
                raise Unauthenticated("the token has expired") from None
            except jwt.InvalidTokenError:
                continue
        if claims is None:
            raise Unauthenticated("the token is not valid")
        return _principal(claims)


def _principal(claims: dict[str, object]) -> Principal:
    roles = claims.get("roles")
    entities = claims.get("entities")
    if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
        raise Unauthenticated(
            f"the token's roles must be a non-empty list of {', '.join(sorted(ROLES))}"
        )
    if (
        not isinstance(entities, list)
        or not all(isinstance(e, str) for e in entities)
        or not entities
    ):
        raise Unauthenticated('the token\'s entities must be a list of legal entities, or ["*"]')
    scope = None if ALL_ENTITIES in entities else frozenset(entities)
    return Principal(subject=str(claims["sub"]), roles=frozenset(roles), entities=scope)
