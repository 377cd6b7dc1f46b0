"""NATS as production runs it (k8s/overlays/prod/tls.conf): TLS from the first byte, and only
clients with a certificate of the mesh CA get in."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest

from devstack.certs import ensure_certificates
from devstack.nats import nats_server_binary
from devstack.process import dying_with_parent
from mesh.events.nats import NatsConnection, nats_tls
from mesh.settings import TlsFiles
from tests.support import eventually


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TlsFiles]:
    return ensure_certificates(tmp_path_factory.mktemp("tls"), ["nats", "project"])


@pytest.fixture(scope="module")
async def tls_nats(
    tmp_path_factory: pytest.TempPathFactory, certs: dict[str, TlsFiles]
) -> AsyncIterator[str]:
    """A nats-server requiring TLS first and a client certificate; its URL (any free port,
    read back from its ports file)."""
    work = tmp_path_factory.mktemp("nats")
    server = certs["nats"]
    (work / "nats.conf").write_text(
        f"""listen: 127.0.0.1:-1
ports_file_dir: "{work}"
tls {{
  cert_file: "{server.cert}"
  key_file: "{server.key}"
  ca_file: "{server.ca}"
  verify: true
  handshake_first: true
}}
"""
    )
    proc = await asyncio.create_subprocess_exec(
        *dying_with_parent([str(nats_server_binary()), "-c", str(work / "nats.conf")]),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        ports = await eventually(lambda: _ports(work), what="nats-server to write its ports file")
        yield ports["nats"][0]
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def _ports(work: Path) -> dict[str, list[str]]:
    def read() -> dict[str, list[str]]:
        found = list(work.glob("*.ports"))
        return json.loads(found[0].read_text()) if found else {}

    return await asyncio.to_thread(read)


async def test_a_service_connects_over_tls_with_its_certificate(
    tls_nats: str, certs: dict[str, TlsFiles]
) -> None:
    async with NatsConnection(tls_nats, name="project", tls=nats_tls(certs["project"])) as conn:
        assert await conn.wait_connected(10)
        await conn.client.publish("weftwork.project.probe", b"over tls")
        await conn.client.flush(timeout=5)


async def test_plaintext_or_certificate_less_clients_are_refused(
    tls_nats: str, certs: dict[str, TlsFiles]
) -> None:
    plaintext = tls_nats.replace("tls://", "nats://")
    with pytest.raises(Exception):  # noqa: B017, PT011 - how it fails is nats-py's business
        await nats.connect(plaintext, connect_timeout=2, allow_reconnect=False)
    anonymous = ssl.create_default_context(cafile=str(certs["project"].ca))  # trusts, no cert
    with pytest.raises(Exception):  # noqa: B017, PT011
        await nats.connect(
            tls_nats,
            tls=anonymous,
            tls_handshake_first=True,
            connect_timeout=2,
            allow_reconnect=False,
        )
