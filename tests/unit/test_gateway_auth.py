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
    "sales": {"closeWonOpportunity"},
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


def test_writes_outside_the_callers_entities_are_forbidden() -> None:
    uk_finance = principal("finance", frozenset({"UK01"}))
    uk_finance.require("issueInvoice", "UK01")
    with pytest.raises(Forbidden, match="DE01"):
        uk_finance.require("issueInvoice", "UK01", "DE01")
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


def test_rs256_tokens_from_an_identity_provider_are_accepted() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = TokenVerifier(secret=None, public_key=public.decode())
    claims = {
        "sub": "idp-user",
        "roles": ["executive"],
        "entities": ["*"],
        "exp": int(time.time()) + 60,
    }
    signed = jwt.encode(claims, key, algorithm="RS256")
    assert verifier.verify(f"Bearer {signed}").roles == frozenset({"executive"})
    # An HS256 token signed with the public key as secret (algorithm confusion) is refused.
    with pytest.raises(Unauthenticated):
        verifier.verify("Bearer " + jwt.encode(claims, "x" * 40, algorithm="HS256"))


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x", "roles": [], "entities": ["*"]},
        {"sub": "x", "roles": ["king"], "entities": ["*"]},
        {"sub": "x", "roles": ["admin"], "entities": []},
        {"sub": "x", "roles": ["admin"]},
        {"roles": ["admin"], "entities": ["*"]},
    ],
)
def test_tokens_without_proper_claims_are_refused(claims: dict[str, object]) -> None:
    secret = "s" * 40
    signed = jwt.encode({**claims, "exp": int(time.time()) + 60}, secret, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        TokenVerifier(secret=secret, public_key=None).verify(f"Bearer {signed}")
