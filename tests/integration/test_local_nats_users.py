"""The local stack's NATS (devstack/nats.py) has DESIGN.md section 6's users, as production
does: nobody connects anonymously, and a service publishes only its own domain's events."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import nats
import pytest
from nats.aio.client import Client

from devstack.nats import EmbeddedNats
from devstack.nats_users import user_url
from devstack.servers import with_local_nats_credentials
from devstack.status import nats_state
from mesh.events.streams import ensure_stream
from mesh.settings import load_settings
from tests.support import eventually

FORGED = "weftwork.project.engagement.activated.v1"
URL = "WEFTWORK_NATS_URL"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    nats_server = EmbeddedNats(tmp_path / "nats")
    nats_server.start()
    yield nats_server
    nats_server.stop()


async def connect(url: str, errors: list[str] | None = None) -> Client:
    async def remember(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc))

    return await nats.connect(
        url, allow_reconnect=False, max_reconnect_attempts=1, connect_timeout=5, error_cb=remember
    )


async def test_an_anonymous_client_cannot_connect_let_alone_publish(server: EmbeddedNats) -> None:
    address = urlsplit(server.url).netloc.rpartition("@")[2]
    for url in (f"nats://{address}", f"nats://billing:guessed@{address}"):
        with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
            await connect(url)


async def test_an_event_forged_with_billings_credentials_is_refused_by_the_server(
    server: EmbeddedNats,
) -> None:
    project = await connect(server.url_for("project"))
    errors: list[str] = []
    billing = await connect(server.url_for("billing"), errors)
    try:
        await ensure_stream(project.jetstream(), "project")
        before = (await project.jetstream().stream_info("PROJECT")).state.messages

        await billing.publish(FORGED, b"forged", headers={"ce-source": "project"})
        await billing.flush()
        refusal = await eventually(
            lambda: _violations(errors, FORGED), what="the server's permissions violation"
        )
        assert refusal == [f'nats: permissions violation for publish to "{FORGED}"']
        assert (await project.jetstream().stream_info("PROJECT")).state.messages == before
        # Its own events go through.
        await ensure_stream(billing.jetstream(), "billing")
        ack = await billing.jetstream().publish("weftwork.billing.invoice.issued.v1", b"ok")
        assert ack.stream == "BILLING"
    finally:
        await billing.close()
        await project.close()


async def _violations(errors: list[str], subject: str) -> list[str]:
    return [e for e in errors if "permissions violation" in e.lower() and subject in e]


async def test_the_status_command_reaches_the_local_nats_as_the_operator(
    server: EmbeddedNats, tmp_path: Path
) -> None:
    settings = load_settings(
        {"WEFTWORK_DATA_DIR": str(tmp_path), "WEFTWORK_NATS_PORT": str(server.port)}
    )
    assert await nats_state(settings.nats_url) == "DOWN"  # anonymous: refused
    assert await nats_state(with_local_nats_credentials(settings).nats_url) == "UP"


def test_a_service_url_is_derived_from_the_operators_and_nothing_else_is_touched() -> None:
    operator = "nats://ops:s3cret@127.0.0.1:4300"
    billing = user_url(operator, "billing")
    assert urlsplit(billing).username == "billing"
    assert urlsplit(billing).password not in (None, "s3cret")
    assert user_url(operator, "billing") == billing  # stable: restarts keep the credentials
    assert user_url("nats://nats:4222", "billing") == "nats://nats:4222"  # brings its own
    assert user_url("nats://billing:x@nats:4222", "revenue") == "nats://billing:x@nats:4222"


def test_a_service_served_beside_up_connects_as_its_own_user(
    server: EmbeddedNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import cli

    monkeypatch.setenv("WEFTWORK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WEFTWORK_NATS_PORT", str(server.port))
    monkeypatch.delenv("WEFTWORK_NATS_URL", raising=False)  # restored (absent) after the test
    seen: list[str] = []
    monkeypatch.setattr(cli, "load_main", lambda name: lambda: seen.append(os.environ[URL]))
    assert cli.main(["serve", "billing"]) == 0
    assert seen == [server.url_for("billing")]
