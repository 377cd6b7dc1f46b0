"""`weftwork connect apply FILE`: sources as code, created then updated, secrets from the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.connect import ApplyError, apply_file
from mesh.settings import load_settings
from tests.e2e.connect.stack import ConnectStack

SOURCES = """
sources:
  - name: crm-hubspot
    kind: HUBSPOT
    secret: ${HUBSPOT_CLIENT_SECRET}
    apiToken: ${HUBSPOT_TOKEN}
    mapping:
      wonStages: [closedwon, contractsigned]
      defaults: {legalEntity: US01, currency: USD}
  - name: partner-erp
    kind: STANDARD_WEBHOOKS
"""
INBOUND = "{ inboundSources { name kind hasSecret hasApiToken mapping } }"


async def test_apply_creates_then_updates_sources(
    connect_stack: ConnectStack, tmp_path: Path
) -> None:
    settings = load_settings(connect_stack.env)
    env = {"HUBSPOT_CLIENT_SECRET": "client-secret", "HUBSPOT_TOKEN": "pat-na1-x"}
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES)

    first = await apply_file(settings, path, env)
    assert first[0] == "created crm-hubspot"
    assert first[1].startswith("created partner-erp (signing secret, shown once: whsec_")
    again = await apply_file(settings, path, env)
    assert again == ["updated crm-hubspot", "updated partner-erp"]

    found = {s["name"]: s for s in (await connect_stack.gql(INBOUND))["inboundSources"]}
    hubspot = found["crm-hubspot"]
    assert (hubspot["kind"], hubspot["hasSecret"], hubspot["hasApiToken"]) == (
        "HUBSPOT",
        True,
        True,
    )
    assert hubspot["mapping"]["wonStages"] == ["closedwon", "contractsigned"]

    with pytest.raises(ApplyError, match="HUBSPOT_TOKEN"):
        await apply_file(settings, path, {"HUBSPOT_CLIENT_SECRET": "x"})
    path.write_text(
        SOURCES.replace("wonStages: [closedwon, contractsigned]", "wonStages: closedwon")
    )
    with pytest.raises(ApplyError, match=r"mapping\.wonStages"):
        await apply_file(settings, path, env)
