"""The NATS users of k8s/base/nats/accounts.conf, on a real nats-server: each service can do
exactly what the kit does for it (provision and publish its own stream, consume the streams
DESIGN.md section 1 lists) and nothing more; the gateway reads everything and writes nothing."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout

from devstack.errors import StackError
from devstack.nats import nats_server_binary, read_ports_file
from devstack.process import run_blocking, wait_ready
from mesh.events.streams import DOMAINS, ensure_consumer, ensure_stream, stream_name
from tests.support import eventually

ACCOUNTS = Path(__file__).resolve().parents[2] / "k8s" / "base" / "nats" / "accounts.conf"
USERS = (*DOMAINS, "gateway")
CONSUMES = {  # DESIGN.md section 1
    "customer": (),
    "project": ("customer",),
    "billing": ("project", "customer"),
    "revenue": ("project", "billing"),
    "connect": ("project", "billing", "revenue", "customer"),
}
DENIED = "permissions violation"  # nats-py reports the server's -ERR in lower case


@pytest.fixture
def nats_port() -> Iterator[int]:
    """A fresh nats-server per test with the manifests' users and permissions (JetStream R1)."""
    directory = Path(tempfile.mkdtemp(prefix="weftwork-nats-users-"))
    shutil.copy(ACCOUNTS, directory / "accounts.conf")
    config = directory / "server.conf"
    config.write_text(
        f'host: "127.0.0.1"\nport: -1\nports_file_dir: "{directory}"\n'
        f'jetstream {{ store_dir: "{directory}/js" }}\ninclude ./accounts.conf\n'
    )
    env = {f"NATS_PASSWORD_{user.upper()}": f"{user}-secret" for user in USERS}
    server = subprocess.Popen(
        [str(nats_server_binary()), "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def port() -> int:  # the server picks a free port and writes it down
        return read_ports_file(directory, server.pid)

    def check_alive() -> None:
        if server.poll() is not None:
            raise StackError(f"nats-server exited with {server.returncode}")

    try:
        yield run_blocking(wait_ready(port, what="nats-server", within=30, check_alive=check_alive))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(directory, ignore_errors=True)


class User:
    """One connection as a manifest user; remembers the permission errors the server sent."""

    def __init__(self, name: str, client: Client, errors: list[str]) -> None:
        self.name, self.client, self.errors = name, client, errors
        self.js = client.jetstream(timeout=5)
        # For calls the server must drop: their timeout only bounds the wait; the proof of a
        # refusal is the server's permissions error, checked by denied().
        self.refused_js = client.jetstream(timeout=0.25)

    async def denied(self, subject: str) -> None:
        """Wait until the server has refused something on this subject."""

        async def refusals() -> list[str]:
            return [e for e in self.errors if DENIED in e.lower() and subject.lower() in e.lower()]

        await eventually(refusals, what=f"a permissions violation on {subject}")


Connect = Callable[[str], Awaitable[User]]


@pytest.fixture
async def connect(nats_port: int) -> AsyncIterator[Connect]:
    clients: list[Client] = []

    async def as_user(user: str) -> User:
        errors: list[str] = []

        async def remember(exc: Exception) -> None:
            errors.append(str(exc))

        url = f"nats://{user}:{user}-secret@127.0.0.1:{nats_port}"

        async def attempt() -> Client | None:
            try:
                return await nats.connect(
                    url, error_cb=remember, allow_reconnect=False, reconnect_time_wait=0
                )
            except Exception:
                return None

        client = await eventually(attempt, until=lambda c: c is not None, what="nats-server")
        assert client is not None
        clients.append(client)
        return User(user, client, errors)

    yield as_user
    for client in clients:
        await client.close()


async def provision_all(connect: Connect) -> dict[str, User]:
    users = {user: await connect(user) for user in USERS}
    for domain in DOMAINS:
        await ensure_stream(users[domain].js, domain)
    return users


async def test_each_service_provisions_and_publishes_its_own_stream_only(connect: Connect) -> None:
    users = await provision_all(connect)
    for domain in DOMAINS:
        ack = await users[domain].js.publish(f"weftwork.{domain}.thing.created.v1", b"x")
        assert ack.stream == stream_name(domain)

    before = (await users["billing"].js.stream_info("BILLING")).state.messages
    intruder = users["revenue"]
    with pytest.raises(NatsTimeout):
        await intruder.refused_js.publish("weftwork.billing.invoice.issued.v1", b"forged")
    await intruder.denied("weftwork.billing.invoice.issued.v1")
    with pytest.raises(NatsTimeout):
        await ensure_stream(intruder.refused_js, "billing")
    await intruder.denied("$JS.API.STREAM.CREATE.BILLING")
    assert (await users["billing"].js.stream_info("BILLING")).state.messages == before


async def consume_one(user: User, source: str) -> None:
    """What mesh.events.consumer does: declare the durable, bind, fetch, ack, inspect."""
    stream, durable = stream_name(source), f"{user.name}-{source}"
    await ensure_consumer(
        user.js, stream, durable, [f"weftwork.{source}.>"], ack_wait=5, max_deliver=3
    )
    subscription = await user.js.pull_subscribe_bind(durable=durable, stream=stream)
    [message] = await subscription.fetch(1, timeout=10)
    await message.ack()
    info = await eventually(
        subscription.consumer_info, until=lambda i: i.num_ack_pending == 0, what="the ack"
    )
    assert info.delivered is not None and info.delivered.stream_seq == 1


async def refused_consumer(user: User, source: str) -> None:
    stream = stream_name(source)
    with pytest.raises(NatsTimeout):
        await ensure_consumer(
            user.refused_js, stream, f"{user.name}-{source}", [f"weftwork.{source}.>"],
            ack_wait=5, max_deliver=3,
        )  # fmt: skip
    await user.denied(f"$JS.API.CONSUMER.CREATE.{stream}")


async def test_services_consume_exactly_the_streams_design_lists(connect: Connect) -> None:
    users = await provision_all(connect)
    for domain in DOMAINS:
        await users[domain].js.publish(f"weftwork.{domain}.thing.created.v1", b"x")
    for consumer, sources in CONSUMES.items():
        for source in sources:
            await consume_one(users[consumer], source)
    refusals = [
        refused_consumer(users[consumer], source)
        for consumer, sources in CONSUMES.items()
        for source in DOMAINS
        if source not in sources
    ]
    await asyncio.gather(*refusals)


async def test_a_service_cannot_listen_to_events_outside_jetstream(connect: Connect) -> None:
    users = await provision_all(connect)
    await users["billing"].client.subscribe("weftwork.customer.>")
    await users["billing"].denied("weftwork.customer.>")


async def test_the_gateway_reads_every_event_and_writes_none(connect: Connect) -> None:
    users = await provision_all(connect)
    gateway = users["gateway"]
    live = await gateway.client.subscribe("weftwork.>")
    await gateway.client.flush()
    activated = "weftwork.project.engagement.activated.v1"

    async def seen_live() -> str | None:
        # A live subscription is at most once: a message sent while a loaded machine made the
        # client reconnect is gone, so publish again until one arrives (denied: none ever).
        await users["project"].js.publish(activated, b"e")
        try:
            return (await live.next_msg(timeout=1)).subject
        except NatsTimeout:
            return None

    assert await eventually(seen_live, within=30, what="the gateway's live event") == activated
    assert (await gateway.js.stream_info("PROJECT")).config.subjects == ["weftwork.project.>"]
    await consume_one(users["billing"], "project")
    # integrationStatus lists every stream's consumers and their backlog.
    assert [c.name for c in await gateway.js.consumers_info("PROJECT")] == ["billing-project"]

    await gateway.client.publish("weftwork.customer.customer.created.v1", b"forged")
    await gateway.denied("weftwork.customer.customer.created.v1")
    with pytest.raises(NatsTimeout):
        await gateway.refused_js.delete_stream("PROJECT")
    await gateway.denied("$JS.API.STREAM.DELETE.PROJECT")
