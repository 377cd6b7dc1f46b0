"""The role x operation matrix of DESIGN.md §4, entity scoping, and both token algorithms."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth import MUTATION_ROLES, Principal, TokenVerifier
from gateway.errors import Forbidden, Unauthenticated
from mesh.tokens import issue_token

EXPECTED = {
    "sales": {"closeWonOpportunity", "updateCustomer"},
    "delivery": {
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
    },
    "finance": {
        "runBilling",
        "issueInvoice",
        "voidInvoice",
        "recordPayment",
        "closePeriod",
        "mergeCustomers",
        "approveEngagement",
        "amendEngagement",
        "updateCustomer",
        "setPurchaseOrderNumber",
    },
    "executive": set(),
    "admin": set(MUTATION_ROLES),
}


def principal(role: str, entities: frozenset[str] | None = None) -> Principal:
    return Principal(subject="t", roles=frozenset({role}), entities=entities)


@pytest.mark.parametrize("role", sorted(EXPECTED))
@pytest.mark.parametrize("operation", sorted(MUTATION_ROLES))
def test_each_role_may_run_exactly_its_mutations(role: str, operation: str) -> None:
    if operation in EXPECTED[role]:
        principal(role).require(operation)
    else:
        with pytest.raises(Forbidden):
            principal(role).require(operation)


def test_a_named_entity_outside_the_callers_scope_is_forbidden() -> None:
    uk_finance = principal("finance", frozenset({"UK01"}))
    uk_finance.require("closePeriod", "UK01")
    with pytest.raises(Forbidden, match="DE01"):
        uk_finance.require("closePeriod", "UK01", "DE01")
    assert uk_finance.sees("UK01")
    assert not uk_finance.sees("US01")


def test_cost_and_margin_are_for_finance_executives_and_admins() -> None:
    assert {r for r in EXPECTED if principal(r).sees_costs} == {"finance", "executive", "admin"}


def test_hs256_tokens_carry_roles_and_entities() -> None:
    secret = "s" * 40
    verifier = TokenVerifier(secret=secret, public_key=None)
    signed = issue_token(secret, subject="ann", roles=["finance"], entities=["UK01", "DE01"])
    caller = verifier.verify(f"Bearer {signed}")
    assert caller == Principal("ann", frozenset({"finance"}), frozenset({"UK01", "DE01"}))
    everything = verifier.verify(
        f"Bearer {issue_token(secret, subject='b', roles=['admin'], entities=['*'])}"
    )
    assert everything.entities is None


def _rsa() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public.decode()


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "weftwork",
        "aud": "weftwork-gateway",
        "sub": "x",
        "roles": ["admin"],
        "entities": ["*"],
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


SECRET = "s" * 40


def _hs256(**overrides: object) -> str:
    return "Bearer " + jwt.encode(_claims(**overrides), SECRET, algorithm="HS256")


def test_rs256_tokens_from_an_identity_provider_with_its_issuer_and_audience_are_accepted() -> None:
    key, public = _rsa()
    verifier = TokenVerifier(
        secret=None, public_key=public, issuer="https://idp.example", audience="weftwork-api"
    )
    claims = _claims(iss="https://idp.example", aud=["weftwork-api", "other"], roles=["executive"])
    signed = jwt.encode(claims, key, algorithm="RS256")
    assert verifier.verify(f"Bearer {signed}").roles == frozenset({"executive"})
    without_issuer = {k: v for k, v in claims.items() if k != "iss"}
    for wrong in (
        {**claims, "iss": "https://evil.example"},
        {**claims, "aud": "x"},
        without_issuer,
    ):
        with pytest.raises(Unauthenticated):
            verifier.verify("Bearer " + jwt.encode(wrong, key, algorithm="RS256"))
    # An HS256 token is refused where RS256 is configured, whatever secret signed it.
    with pytest.raises(Unauthenticated):
        verifier.verify("Bearer " + jwt.encode(claims, SECRET, algorithm="HS256"))


def test_with_a_public_key_configured_the_local_secret_is_never_accepted() -> None:
    _, public = _rsa()
    verifier = TokenVerifier(secret=SECRET, public_key=public)
    assert verifier.algorithm == "RS256"
    with pytest.raises(Unauthenticated):
        verifier.verify(_hs256())
    assert TokenVerifier(secret=SECRET, public_key=None).verify(_hs256()).subject == "x"


def test_a_token_living_longer_than_the_maximum_or_without_its_times_is_refused() -> None:
    now = int(time.time())
    verifier = TokenVerifier(secret=SECRET, public_key=None, max_lifetime_seconds=86_400)
    century = _hs256(iat=now, exp=now + 100 * 365 * 86_400)
    with pytest.raises(Unauthenticated, match="longer than 86400"):
        verifier.verify(century)
    for token in (_hs256(iat=None), _hs256(exp=None), _hs256(iat=now + 3600, exp=now + 7200)):
        with pytest.raises(Unauthenticated):
            verifier.verify(token)
    assert verifier.verify(_hs256(iat=now - 10, exp=now + 86_000)).subject == "x"


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": []},
        {"roles": ["king"]},
        {"roles": [["admin"]]},
        {"roles": "admin"},
        {"roles": [{"admin": True}]},
        {"entities": []},
        {"entities": ["US01", "*"]},
        {"entities": [["US01"]]},
        {"entities": "*"},
        {"entities": None},
        {"roles": None},
        {"sub": None},
        {"sub": 42},
        {"sub": ""},
        {"iat": "yesterday"},
        {"exp": [1]},
    ],
)
def test_tokens_without_proper_claims_are_refused_never_a_crash(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(secret=SECRET, public_key=None).verify(_hs256(**claims))


def test_star_grants_every_entity_only_alone() -> None:
    verifier = TokenVerifier(secret=SECRET, public_key=None)
    assert verifier.verify(_hs256(entities=["*"])).entities is None
    assert verifier.verify(_hs256(entities=["US01"])).entities == frozenset({"US01"})
    with pytest.raises(Unauthenticated):
        verifier.verify(_hs256(entities=["US01", "*"]))
    with pytest.raises(ValueError, match="alone"):
        issue_token(SECRET, subject="x", roles=["admin"], entities=["US01", "*"])


def test_an_oversized_or_malformed_authorization_header_is_unauthenticated() -> None:
    verifier = TokenVerifier(secret=SECRET, public_key=None)
    for header in ("Bearer " + "a" * 100_000, "Basic abc", "Bearer", "", "Bearer a.b.c"):
        with pytest.raises(Unauthenticated):
            verifier.verify(header)
