"""#14 observations 4 and 5 over real HTTP: no oracle for who is signed in or what is in scope,
mergeCustomers checks both customers, integrationStatus is for admin and finance; and tokens
are checked for issuer, audience, lifetime, claim types and algorithm family."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.app import create_app
from mesh.settings import load_settings
from mesh.tokens import issue_token
from tests.e2e.hostile import HealthProbe, healthz_url
from tests.e2e.platform import SECRET, Platform, gql, post
from tests.e2e.test_gateway_flows import close_won, draft_for, opportunity, record_time
from tests.support import eventually

RANDOM_ID = "00000000-0000-4000-8000-00000000beef"


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def anonymous(body: dict[str, Any], *ids: str) -> str:
    """The answer with the ids taken out: what is left must not tell one id from another."""
    text = str(body)
    for i in ids:
        text = text.replace(i, "<id>")
    return text


@pytest.fixture(scope="module")
async def books(api: Platform) -> dict[str, str]:
    """A US01 engagement with a draft invoice, and a DE01-only customer."""
    us = await close_won(api, **opportunity("TRUST-US", "US01", "USD", "TIME_AND_MATERIALS"))
    await record_time(api, us["id"], "truster", [("2026-01-05", "8", True)])
    invoice = await draft_for(api, us["id"], "2026-01-31")
    de = await close_won(
        api,
        **{
            **opportunity("TRUST-DE", "DE01", "EUR", "TIME_AND_MATERIALS"),
            "account": {"externalId": "acc-de", "name": "Rhein GmbH", "country": "DE"},
        },
    )
    view = "query($id: ID!) { engagement(id: $id) { customer { id } } }"
    us_customer = (await gql(api, view, id=us["id"]))["engagement"]["customer"]["id"]
    de_customer = (await gql(api, view, id=de["id"]))["engagement"]["customer"]["id"]
    return {
        "us_engagement": us["id"],
        "invoice": invoice,
        "us_customer": us_customer,
        "de_customer": de_customer,
    }


INVOICE = "query($id: ID!) { invoice(id: $id) { id status } }"
ISSUE = 'mutation($id: ID!) { issueInvoice(id: $id, issueDate: "2026-02-01") { status } }'


async def test_without_a_token_an_existing_id_and_a_missing_one_get_the_same_answer(
    api: Platform, books: dict[str, str]
) -> None:
    nobody = {"Authorization": ""}
    probe = HealthProbe(healthz_url(api.url))
    async with probe.running():
        for query in (INVOICE, ISSUE):
            known = await post(api, query, nobody, id=books["invoice"])
            unknown = await post(api, query, nobody, id=RANDOM_ID)
            assert codes(known) == ["UNAUTHENTICATED"]
            assert anonymous(known, books["invoice"]) == anonymous(unknown, RANDOM_ID)
    probe.assert_healthy()
    assert (await gql(api, INVOICE, id=books["invoice"]))["invoice"]["status"] == "DRAFT"


async def test_out_of_scope_is_not_found_in_the_words_of_missing(
    api: Platform, books: dict[str, str]
) -> None:
    uk_finance = api.as_("finance", entities=["UK01"])
    outside = await post(api, ISSUE, uk_finance, id=books["invoice"])
    missing = await post(api, ISSUE, uk_finance, id=RANDOM_ID)
    assert codes(outside) == ["NOT_FOUND"]
    assert "US01" not in str(outside)
    assert anonymous(outside, books["invoice"]) == anonymous(missing, RANDOM_ID)
    read = await post(api, INVOICE, uk_finance, id=books["invoice"])
    assert read["data"] == {"invoice": None}
    assert (await gql(api, INVOICE, id=books["invoice"]))["invoice"]["status"] == "DRAFT"


MERGE = """mutation($s: ID!, $m: ID!) { mergeCustomers(survivorId: $s, mergedId: $m) { id } }"""
MERGED = "query($id: ID!) { customer(id: $id) { id mergedIds } }"


async def test_merge_customers_needs_both_customers_in_the_callers_entities(
    api: Platform, books: dict[str, str]
) -> None:
    us_finance = api.as_("finance", entities=["US01"])
    probe = HealthProbe(healthz_url(api.url))
    async with probe.running():
        into_us = await post(api, MERGE, us_finance, s=books["us_customer"], m=books["de_customer"])
        into_de = await post(api, MERGE, us_finance, s=books["de_customer"], m=books["us_customer"])
    probe.assert_healthy()
    assert codes(into_us) == codes(into_de) == ["FORBIDDEN"]
    assert "DE01" not in str(into_us)
    for customer in ("us_customer", "de_customer"):
        found = (await gql(api, MERGED, id=books[customer]))["customer"]
        assert found == {"id": books[customer], "mergedIds": []}
    both = api.as_("finance", entities=["US01", "DE01"])
    merged = await post(api, MERGE, both, s=books["us_customer"], m=books["de_customer"])
    assert merged["data"]["mergeCustomers"]["id"] == books["us_customer"]


STATUS = "{ integrationStatus { settled } }"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("finance", True),
        ("executive", False),
        ("sales", False),
        ("delivery", False),
    ],
)
async def test_integration_status_is_for_admin_and_finance(
    api: Platform, role: str, allowed: bool
) -> None:
    body = await post(api, STATUS, api.as_(role))
    if allowed:
        assert "errors" not in body, body
    else:
        assert codes(body) == ["FORBIDDEN"]


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": "weftwork",
        "aud": "weftwork-gateway",
        "sub": "t",
        "roles": ["admin"],
        "entities": ["*"],
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


BAD_TOKENS = {
    "valid for 100 years": claims(exp=int(time.time()) + 100 * 365 * 86_400),
    "every entity through a star beside one": claims(entities=["US01", "*"]),
    "roles of the wrong type": claims(roles=[["admin"]]),
    "entities of the wrong type": claims(entities=[{"US01": 1}]),
    "another issuer": claims(iss="https://elsewhere.example"),
    "no audience": claims(aud=None),
    "another audience": claims(aud="another-api"),
    "no issued-at": claims(iat=None),
}


async def test_tokens_that_break_the_rules_are_unauthenticated_never_internal(
    api: Platform,
) -> None:
    probe = HealthProbe(healthz_url(api.url))
    async with probe.running():
        answers = {
            name: await post(
                api,
                "{ customers(first: 1) { edges { cursor } } }",
                {"Authorization": "Bearer " + jwt.encode(c, SECRET, algorithm="HS256")},
            )
            for name, c in BAD_TOKENS.items()
        }
        huge = await api.client.post(
            api.url,
            json={"query": "{ __typename }"},
            headers={"Authorization": "Bearer " + "a" * 100_000},
        )
    probe.assert_healthy()
    for name, body in answers.items():
        assert codes(body) == ["UNAUTHENTICATED"], (name, body)
        assert body["data"] is None
    assert huge.status_code == 431


async def test_field_suggestions_are_off_with_introspection(api: Platform) -> None:
    for query in ('{ invoicez(id: "x") { id } }', '{ invoice(idd: "x") { id } }'):
        body = await post(api, query)
        assert set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "Did you mean" not in str(body)


@contextlib.asynccontextmanager
async def gateway_with_a_public_key(
    data_dir: Path, public_key: str, nats_url: str
) -> AsyncIterator[str]:
    """A second gateway, on a socket it binds itself, configured for an identity provider's
    RS256 key, with the local HS256 secret present too (as a stray data-dir file would be)."""
    settings = load_settings(
        {
            "WEFTWORK_DATA_DIR": str(data_dir),
            "WEFTWORK_NATS_URL": nats_url,
            "WEFTWORK_JWT_PUBLIC_KEY": public_key,
            "WEFTWORK_JWT_SECRET": SECRET,
            "WEFTWORK_JWT_ISSUER": "https://idp.example",
            "WEFTWORK_JWT_AUDIENCE": "weftwork-api",
            "WEFTWORK_GATEWAY_ANY_DOCUMENT": "true",  # `{ __typename }` is no trusted document
        }
    )
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[bound]))
    try:
        await eventually(lambda: asyncio.sleep(0, result=server.started), what="gateway started")
        yield f"http://127.0.0.1:{bound.getsockname()[1]}/graphql"
    finally:
        server.should_exit = True
        await task
        bound.close()


async def test_with_a_public_key_only_the_identity_providers_tokens_are_accepted(
    module_nats: str, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    idp = jwt.encode(
        claims(iss="https://idp.example", aud=["weftwork-api"]), key, algorithm="RS256"
    )
    local = issue_token(SECRET, subject="local", roles=["admin"], entities=["*"])
    async with (
        gateway_with_a_public_key(tmp_path, public.decode(), module_nats) as url,
        httpx.AsyncClient(timeout=10) as client,
    ):

        async def ask(token: str) -> dict[str, Any]:
            answer = await client.post(
                url, json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {token}"}
            )
            body: dict[str, Any] = answer.json()
            return body

        assert await ask(idp) == {"data": {"__typename": "Query"}}
        assert codes(await ask(local)) == ["UNAUTHENTICATED"]
