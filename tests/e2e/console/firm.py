"""The platform with the demo firm, outside pytest: for `make screenshots` and trying pages."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS

from devstack.demo import seed
from devstack.demo_connect import MAPPING
from devstack.nats import EmbeddedNats
from devstack.postgres import EmbeddedPostgres
from mesh.db import create_pool
from mesh.events.deadletters import list_dead_letters, record_dead_letter
from mesh.settings import local_socket_dir
from tests.e2e.connect.hooks import (
    CREATE_SOURCE,
    EXCEPTIONS,
    nodes,
    standard_body,
    standard_headers,
    won_data,
)
from tests.e2e.platform import Platform, gql, running_platform
from tests.support import eventually


@contextlib.asynccontextmanager
async def running_firm() -> AsyncIterator[Platform]:
    """Embedded PostgreSQL and NATS in a temporary directory, the platform, the demo seeded."""
    data_dir = Path(tempfile.mkdtemp(prefix="weftwork-console-"))
    postgres = EmbeddedPostgres(data_dir / "postgres", local_socket_dir(data_dir))
    nats = EmbeddedNats(data_dir / "nats")  # any free port
    try:
        database_url = postgres.start()
        nats_url = nats.start()
        async with running_platform(
            database_url, nats_url, data_dir / "platform", connect=True
        ) as platform:
            await seed(platform.url, platform.token("admin"))
            yield platform
    finally:
        nats.stop()
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


APPROVED = "weftwork.project.time_entry.approved.v1"


async def bury_a_replayable_dead_letter(platform: Platform) -> uuid.UUID:
    """The last time approval, recorded as a dead letter of billing (which had in fact applied
    it): replaying it is a duplicate the inbox recognizes, so the letter settles as replayed."""
    nats = NATS()
    await nats.connect(platform.settings.nats_url)
    try:
        message = await nats.jetstream().get_last_msg("PROJECT", APPROVED)
    finally:
        await nats.close()
    headers = dict(message.headers or {})
    pool = await create_pool(platform.settings.database_url_for("billing"), max_size=1)
    try:
        async with pool.acquire() as conn:
            await record_dead_letter(
                conn,
                consumer="billing-project",
                stream="PROJECT",
                stream_seq=message.seq,
                subject=APPROVED,
                event_id=uuid.UUID(headers["ce-id"]),
                headers=headers,
                payload=message.data or b"",
                error="engagement not activated in billing yet",
                deliveries=8,
            )
        [letter] = await list_dead_letters(pool, consumer="billing-project")
        return letter.id
    finally:
        await pool.close()


async def open_an_integration_exception(platform: Platform) -> dict[str, Any]:
    """A Standard Webhooks source made over GraphQL, and a signed opportunity.won in a currency
    its mapping does not take (CHF): connect opens an integration exception for it."""
    name = f"partner-{uuid.uuid4().hex[:8]}"
    source = {"name": name, "kind": "STANDARD_WEBHOOKS", "mapping": MAPPING}
    created = await gql(platform, CREATE_SOURCE, i=source)
    secret = created["createInboundSource"]["secret"]
    body = standard_body(won_data(f"OPP-{name.upper()}", currency="CHF"))
    hook = platform.url.removesuffix("/graphql") + f"/hooks/{name}"
    answer = await platform.client.post(hook, content=body, headers=standard_headers(secret, body))
    assert answer.status_code == 202, answer.text

    async def opened() -> list[dict[str, Any]]:
        found = await gql(platform, EXCEPTIONS, s=name, st="OPEN")
        return nodes(found["integrationExceptions"])

    [exception] = await eventually(opened, what="an OPEN integration exception for CHF")
    return {**exception, "source": name}


ENDPOINT = """mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
  endpoint { id } } }"""
DISABLE = (
    """mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { id } }"""
)


async def a_disabled_webhook_endpoint(platform: Platform) -> str:
    """An outbound endpoint to list, disabled at once: it never sends anything from here."""
    endpoint = {
        "url": "https://hooks.example.com/weftwork",
        "eventTypes": ["weftwork.billing.invoice.issued.v1"],
        "description": "Partner billing feed",
    }
    made = (await gql(platform, ENDPOINT, i=endpoint))["createWebhookEndpoint"]["endpoint"]
    await gql(platform, DISABLE, id=made["id"])
    return str(made["id"])
