"""`weftwork up`: embedded servers, migrations, then one supervised process per service."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from devstack import demo, demo_connect, demo_outbound
from devstack.certs import ensure_certificates, tls_dir
from devstack.connect import local_key
from devstack.entrypoints import GATEWAY, RUNNABLE
from devstack.errors import StackError
from devstack.liveness import Liveness, grpc_serving, http_ok
from devstack.migrate import describe, migrate_services
from devstack.nats_users import user_url
from devstack.servers import embedded_postgres, local_nats, local_postgres, reserved_ports
from devstack.status import ops_identity, redact
from devstack.supervisor import ChildSpec, Supervisor
from mesh.settings import SERVICES, Settings
from mesh.tokens import issue_token, local_secret

READY_BANNER = "weftwork is up"


async def run_up(settings: Settings, *, dev: bool = False) -> int:
    """Run the whole local stack until SIGINT or SIGTERM; then stop services, NATS, PostgreSQL."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    local_secret(settings.data_dir)  # the gateway verifies tokens signed with it
    if settings.tls_files is not None:
        raise StackError(
            "weftwork up gives every process its own certificate: set WEFTWORK_TLS_DIR "
            "(or nothing), not WEFTWORK_TLS_CA/CERT/KEY"
        )
    ensure_certificates(local_tls_dir(settings))  # gRPC runs over mutual TLS
    local_key(settings.data_dir)  # connect encrypts its sources' secrets with it
    # Exiting the stack stops NATS, then PostgreSQL: after the services, which stop in run().
    with contextlib.ExitStack() as servers:
        live = servers.enter_context(local_postgres(settings))
        live = servers.enter_context(local_nats(live))
        live = servers.enter_context(reserved_ports(live))  # ports configured as 0
        for line in describe(await migrate_services(live, SERVICES)):
            print(f"migrate {line}", flush=True)
        if stop.is_set():
            return 0
        supervisor = Supervisor(
            child_specs(live, RUNNABLE, dev=dev), grace=settings.shutdown_grace_seconds
        )
        print(render_endpoints(live), flush=True)
        secret = settings.jwt_secret or local_secret(settings.data_dir)
        token = issue_token(secret, subject="admin", roles=["admin"], entities=["*"])
        url = f"http://{live.host}:{live.gateway_port}/graphql"
        if dev:
            print(f"  GraphiQL: {url} (header Authorization: Bearer <admin token>)")
        print(f"  admin token (24 h): {token}", flush=True)
        # The console consumes the fragment and removes it from the address bar.
        print(f"  console (signed in as admin): {url.removesuffix('graphql')}#token={token}")
        seeding = receiving = None
        if dev:
            # A local receiver for the demo's outbound webhook endpoint (devstack/demo_outbound.py).
            receiver = demo_outbound.DemoReceiver(lambda line: print(line, flush=True))
            receiving = asyncio.create_task(
                demo_outbound.run(receiver, settings.host, demo_outbound.PORT, stop)
            )
            seeding = asyncio.create_task(seed_demo(url, token, stop, receiver))
        await supervisor.run(stop)
        for task in (seeding, receiving):
            if task is not None:
                task.cancel()
    return 0


async def seed_demo(
    url: str, token: str, stop: asyncio.Event, receiver: demo_outbound.DemoReceiver | None = None
) -> None:
    """Seed the demo firm once the gateway answers (idempotent: a restart adds nothing)."""
    attempt = 0
    while not stop.is_set():
        try:
            counts = await demo.seed(url, token)
        except (OSError, demo.DemoError, httpx.HTTPError) as exc:
            attempt += 1
            if attempt > 30:
                print(f"demo: not seeded ({exc}); run `weftwork demo` later", flush=True)
                return
            await asyncio.sleep(min(5.0, 0.5 * attempt))  # services still starting
            continue
        print("demo firm ready: " + ", ".join(f"{n} {w}" for w, n in counts.items()), flush=True)
        if receiver is not None:
            receiver_url = demo_outbound.url_of(url)
            for line in await demo_outbound.seed(url, token, receiver, receiver_url):
                print(line, flush=True)
        for line in await demo_connect.seed(url, token):
            print(line, flush=True)
        return


def local_tls_dir(settings: Settings) -> Path:
    """Where the stack's CA and certificates live: WEFTWORK_TLS_DIR, else <data dir>/tls."""
    return settings.tls_dir or tls_dir(settings.data_dir)


def child_specs(settings: Settings, names: Sequence[str], *, dev: bool) -> list[ChildSpec]:
    """`weftwork serve <name>` for each, pointed at the servers this `up` started, each with
    its own certificate (its name in WEFTWORK_TLS_DIR)."""
    env = dict(os.environ)
    env["WEFTWORK_DATA_DIR"] = str(settings.data_dir)
    env["WEFTWORK_DATABASE_URL"] = settings.database_url
    env["WEFTWORK_TLS_DIR"] = str(local_tls_dir(settings))
    # Every port, those reserved for ports configured as 0 included.
    env.update({f"WEFTWORK_{n.upper()}_PORT": str(p) for n, p in settings.grpc_ports.items()})
    env["WEFTWORK_GATEWAY_PORT"] = str(settings.gateway_port)
    if dev:
        env["WEFTWORK_DEV_MODE"] = "true"
        # The demo's webhook receiver is on 127.0.0.1: development allows such targets.
        env["WEFTWORK_CONNECT_OUTBOUND_ALLOW_INSECURE"] = "true"
    # The same interpreter, not whatever `weftwork` is first on PATH.
    serve = [sys.executable, "-m", "devstack.cli", "serve"]
    return [
        ChildSpec(
            name,
            [*serve, name],
            {**env, "WEFTWORK_NATS_URL": user_url(settings.nats_url, name)},  # its own user
            _liveness(settings, name),
        )
        for name in names
    ]


def _liveness(settings: Settings, name: str) -> Liveness:
    """As the pods' probes: gRPC health for a service, /healthz for the gateway."""
    if name == GATEWAY:
        return Liveness(http_ok(f"http://{settings.host}:{settings.gateway_port}/healthz"))
    target = f"{settings.host}:{settings.grpc_ports[name]}"
    return Liveness(grpc_serving(target, ops_identity(settings), server_name=name))


def render_endpoints(settings: Settings) -> str:
    rows: list[tuple[str, str, str]] = []
    for name, port in settings.grpc_ports.items():
        metrics_port = settings.metrics_ports[name]
        metrics = f"metrics http://{settings.host}:{metrics_port}/metrics"
        if metrics_port == 0:
            metrics = "metrics on a free port (in its log)"
        rows.append((name, f"gRPC {settings.host}:{port}", metrics))
    gateway = f"http://{settings.host}:{settings.gateway_port}/graphql"
    rows.append((GATEWAY, gateway, f"metrics {gateway.removesuffix('/graphql')}/metrics"))
    nats = redact(settings.nats_url)  # the operator's password stays in the data dir
    rows.append(("NATS", nats, _origin(settings.embedded_nats, settings, "nats")))
    if settings.embedded_postgres:
        postgres = embedded_postgres(settings)
        socket = f"socket {postgres.socket_dir} (port {postgres.port})"
        rows.append(("PostgreSQL", socket, _origin(True, settings, "postgres")))
    else:
        rows.append(("PostgreSQL", redact(settings.database_url), "external"))
    rows.append(("gRPC TLS", "mutual, one certificate per process", str(local_tls_dir(settings))))
    rows.append(("data dir", str(settings.data_dir), ""))
    width = max(len(r[0]) for r in rows)
    address_width = max(len(r[1]) for r in rows)
    lines = [f"{READY_BANNER} (Ctrl-C stops everything)"]
    lines += [f"  {a:<{width}}  {b:<{address_width}}  {c}".rstrip() for a, b, c in rows]
    return "\n".join(lines)


def _origin(embedded: bool, settings: Settings, subdir: str) -> str:
    return f"embedded, data in {settings.data_dir / subdir}" if embedded else "external"
