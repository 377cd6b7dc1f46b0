"""Setting outbound up: `weftwork connect apply FILE` with endpoints and write-back, and the
demo's endpoint whose local receiver (started by `weftwork up --dev`) sees a verified webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devstack import demo_outbound
from devstack.connect import ApplyError, apply_file
from mesh.settings import load_settings
from services.revenue.domain.facts import BillingModel
from tests.conftest import Stack
from tests.e2e.connect.outbound_stack import ENDPOINTS, OutboundStack, running_outbound_stack
from tests.e2e.connect.receivers import Server, running
from tests.support import eventually
from tests.unit.revenue_fakes import Engagement

FILE = """
endpoints:
  - url: https://erp.example.com/weftwork
    eventTypes: [weftwork.billing.*]
    legalEntities: [UK01]
    description: the ERP
writebacks:
  - source: crm-hubspot
    kind: HUBSPOT
    token: ${HUBSPOT_TOKEN}
    fields: {paid: amount_paid}
"""
WRITEBACKS = "{ crmWriteBacks { source kind baseUrl fields hasToken enabled } }"


@pytest.fixture(scope="module")
async def outbound(
    stack: Stack, module_nats: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[OutboundStack]:
    async with running_outbound_stack(
        stack.database_url, module_nats, tmp_path_factory.mktemp("setup")
    ) as running_stack:
        yield running_stack


async def test_apply_creates_then_updates_endpoints_and_sets_write_back(
    outbound: OutboundStack, tmp_path: Path
) -> None:
    settings = load_settings(outbound.env)
    path = tmp_path / "connect.yaml"
    path.write_text(FILE)
    env = {"HUBSPOT_TOKEN": "pat-na1-x"}

    first = await apply_file(settings, path, env)
    assert first[0].startswith(
        "created endpoint https://erp.example.com/weftwork (signing secret, shown once: whsec_"
    )
    assert first[1] == "write-back for crm-hubspot set (HUBSPOT)"
    path.write_text(FILE.replace("[UK01]", "[UK01, US01]"))
    assert (await apply_file(settings, path, env))[0] == (
        "updated endpoint https://erp.example.com/weftwork"
    )
    [endpoint] = [
        e
        for e in (await outbound.gql(ENDPOINTS))["webhookEndpoints"]
        if e["url"] == "https://erp.example.com/weftwork"
    ]
    assert endpoint["enabled"]
    [writeback] = (await outbound.gql(WRITEBACKS))["crmWriteBacks"]
    assert writeback["baseUrl"] == "https://api.hubapi.com" and writeback["hasToken"]
    assert writeback["fields"]["paid"] == "amount_paid"

    path.write_text(FILE.replace("weftwork.billing.*", "weftwork.billing.nope.v1"))
    with pytest.raises(ApplyError, match=r"event_types\[0\]"):
        await apply_file(settings, path, env)
    path.write_text(FILE.replace("    token: ${HUBSPOT_TOKEN}\n", "    tokn: x\n"))
    with pytest.raises(ApplyError, match="unknown keys"):
        await apply_file(settings, path, env)


async def test_the_demo_endpoint_delivers_a_verified_webhook_to_the_local_receiver(
    outbound: OutboundStack,
) -> None:
    said: list[str] = []
    receiver = demo_outbound.DemoReceiver(said.append)
    token_header = outbound.client.headers["Authorization"].removeprefix("Bearer ")
    async with running(Server(receiver.app)) as server:
        url = f"{server.url}{demo_outbound.PATH}"
        lines = await demo_outbound.seed(f"{outbound.base}/graphql", token_header, receiver, url)
        assert lines[0].startswith(f"outbound demo: endpoint {url} for weftwork.project")
        e = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", "US01")
        event_id = await outbound.publish("project", e.activated(), str(e.id))

        async def heard() -> list[str]:
            return [line for line in said if event_id in line]

        [line] = await eventually(heard, what="the demo receiver's line")
        assert "weftwork.project.engagement.activated.v1 (signature verified)" in line

        again = await demo_outbound.seed(f"{outbound.base}/graphql", token_header, receiver, url)
        assert again == [f"outbound demo: endpoint {url} exists (secret rotated)"]
        e2 = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", "US01")
        second = await outbound.publish("project", e2.activated(), str(e2.id))
        [line] = await eventually(
            lambda: heard_of(said, second), what="a webhook signed after the rotation"
        )
        assert "(signature verified)" in line


async def heard_of(said: list[str], event_id: str) -> list[str]:
    return [line for line in said if event_id in line]
