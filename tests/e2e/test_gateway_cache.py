"""The gateway's response cache against the whole platform: reads come from it once warm, and
never outlive a write (the gateway's own, or another writer's seen on the streams), nor cross
from one caller's roles or entities to another's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devstack.nats import EmbeddedNats
from gateway.cache import ResponseCache, counted
from tests.conftest import Stack
from tests.e2e.platform import Platform, gql, post, running_platform
from tests.e2e.test_gateway_view import APPROVE, CLOSE_WON, SUBMIT, won
from tests.support import eventually
from weftwork.project.v1 import project_service_pb2 as pb

VIEW = """query($id: ID!) { engagement(id: $id) { id legalEntity budget { approvedHours }
  rateCard { costRate } revenue { margin { amount } } } }"""
STALENESS_BUDGET = 5.0  # seconds from another writer's commit to a changed view, on a busy box


@pytest.fixture(scope="module")
async def api(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """The platform with the response cache on (it is off unless configured)."""
    async with running_platform(
        stack.database_url,
        module_nats,
        tmp_path_factory.mktemp("cached"),
        connect=True,
        WEFTWORK_GATEWAY_CACHE_MB="64",
    ) as p:
        yield p


def hits(api: Platform) -> float:
    cache: ResponseCache = api.app.state.cache
    return counted(cache.metrics.lookups, "hit")


async def warm(api: Platform, query: str, headers: dict[str, str] | None = None, **v: Any) -> Any:
    """The answer once it comes from the cache (a write just before is settling first)."""

    async def served_from_cache() -> tuple[bool, Any]:
        before = hits(api)
        body = await post(api, query, headers, **v)
        return hits(api) > before, body

    _, body = await eventually(served_from_cache, until=lambda r: r[0], what="a cache hit")
    return body


async def engagement_with_time(api: Platform, ref: str, entity: str = "US01") -> tuple[str, str]:
    """An engagement with one submitted (not yet approved) entry of 3 hours: (id, entry id)."""
    currency = "GBP" if entity == "UK01" else "USD"
    data = await gql(api, CLOSE_WON, input=won(ref, entity, currency))
    engagement = data["closeWonOpportunity"]["engagement"]["id"]
    await gql(
        api,
        'mutation { upsertPerson(input: {id: "cache-p", name: "C", homeEntity: "US01"}) { id } }',
    )
    entry = {
        "engagementId": engagement,
        "personId": "cache-p",
        "role": "dev",
        "date": "2026-03-02",
        "hours": "3",
    }
    [submitted] = (await gql(api, SUBMIT, e=[entry]))["submitTime"]
    return engagement, submitted["id"]


def approved(body: dict[str, Any]) -> str:
    return str(body["data"]["engagement"]["budget"]["approvedHours"])


async def test_after_approve_time_returns_the_next_view_shows_the_new_hours(api: Platform) -> None:
    engagement, entry = await engagement_with_time(api, "C-RYW")
    assert approved(await warm(api, VIEW, id=engagement)) in {"0", "0.00"}
    await gql(api, APPROVE, ids=[entry])
    assert approved(await post(api, VIEW, id=engagement)) in {"3", "3.00"}


async def test_a_write_by_another_writer_shows_within_the_staleness_budget(api: Platform) -> None:
    engagement, entry = await engagement_with_time(api, "C-OTHER")
    assert approved(await warm(api, VIEW, id=engagement)) in {"0", "0.00"}
    # straight to the project service over gRPC: the gateway learns of it from the stream only
    await api.app.state.clients.project.ApproveTime(pb.ApproveTimeRequest(ids=[entry]))
    committed = time.monotonic()
    await eventually(
        lambda: post(api, VIEW, id=engagement),
        until=lambda body: approved(body) in {"3", "3.00"},
        within=STALENESS_BUDGET,
        interval=0.01,
        what="the view to show the other writer's approval",
    )
    assert time.monotonic() - committed < STALENESS_BUDGET


async def test_a_sales_principal_never_gets_the_cached_finance_answer(api: Platform) -> None:
    engagement, _ = await engagement_with_time(api, "C-ROLE")
    await eventually(
        lambda: post(api, VIEW, api.as_("finance"), id=engagement),
        until=lambda b: b["data"]["engagement"]["revenue"] is not None,
        what="revenue to set the engagement up",
    )
    finance = await warm(api, VIEW, api.as_("finance"), id=engagement)
    assert finance["data"]["engagement"]["revenue"]["margin"] is not None
    assert finance["data"]["engagement"]["rateCard"][0]["costRate"] is not None
    for _ in range(3):
        sales = await post(api, VIEW, api.as_("sales"), id=engagement)
        assert sales["data"]["engagement"]["revenue"]["margin"] is None
        assert sales["data"]["engagement"]["rateCard"][0]["costRate"] is None


async def test_a_us01_principal_never_gets_the_cached_uk01_answer(api: Platform) -> None:
    engagement, _ = await engagement_with_time(api, "C-UK", entity="UK01")
    uk = await warm(api, VIEW, api.as_("executive", entities=["UK01"]), id=engagement)
    assert uk["data"]["engagement"]["legalEntity"] == "UK01"
    page = "{ engagements(first: 100) { edges { node { id legalEntity } } } }"
    await warm(api, page, api.as_("executive", entities=["UK01"]))
    for _ in range(3):
        us = await post(api, VIEW, api.as_("executive", entities=["US01"]), id=engagement)
        assert (us.get("data") or {}).get("engagement") is None, us
        listed = await post(api, page, api.as_("executive", entities=["US01"]))
        assert {e["node"]["legalEntity"] for e in listed["data"]["engagements"]["edges"]} <= {
            "US01"
        }


async def test_without_nats_the_cache_is_bypassed_until_resubscribed(
    stack: Stack, private_nats: EmbeddedNats, tmp_path: Path
) -> None:
    async with running_platform(
        stack.database_url, private_nats.url, tmp_path, WEFTWORK_GATEWAY_CACHE_MB="64"
    ) as own:
        cache: ResponseCache = own.app.state.cache
        query = "query($id: ID!) { engagement(id: $id) { id name } }"
        data = await gql(own, CLOSE_WON, input=won("C-NATS"))
        engagement = data["closeWonOpportunity"]["engagement"]["id"]
        await warm(own, query, id=engagement)
        private_nats.kill()
        await eventually(lambda: asyncio.sleep(0, result=cache.enabled), until=lambda on: not on)
        assert len(cache) == 0
        before = hits(own)
        for _ in range(3):  # answered (the services are up), never from the cache
            body = await post(own, query, id=engagement)
            assert body["data"]["engagement"]["id"] == engagement
        assert hits(own) == before
        private_nats.restart()
        await eventually(lambda: asyncio.sleep(0, result=cache.enabled), within=30)
        await warm(own, query, id=engagement)
