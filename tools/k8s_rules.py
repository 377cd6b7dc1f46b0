"""Weftwork's own rules for each process of a rendered overlay: what schemas cannot know.

Every `weftwork serve` container gets settings that load (mesh.settings, as at start), listens
where its probes look, drains within its grace period, dials the right Services, uses its own
NATS user and its own database, migrates first, and speaks gRPC over mutual TLS with its own
cert-manager certificate. Rules return readable problems (none:
passed); tools/k8s_topology.py has the rules about the overlay as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mesh.settings import DEFAULT_GRPC_PORTS, Settings, SettingsError, load_settings

Doc = Mapping[str, Any]
SERVICES = tuple(DEFAULT_GRPC_PORTS)
GATEWAY = "gateway"
# DESIGN.md section 1: the synchronous calls. Everything talks to NATS; each service to its DB.
CALLS = {GATEWAY: set(SERVICES), "project": {"customer"}, "connect": {"project"}}


def full_service_name(service: str) -> str:
    return f"weftwork.{service}.v1.{service.capitalize()}Service"


@dataclass(frozen=True)
class Process:
    """One `weftwork serve <name>` container, its pod spec and the settings it would load."""

    name: str
    deployment: Doc
    container: Doc
    settings: Settings
    env: Mapping[str, str]


def by_kind(docs: Sequence[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def resolve_env(container: Doc, config_maps: Mapping[str, Doc]) -> dict[str, str]:
    """The container's environment as the kubelet builds it. A required Secret key becomes a
    stand-in naming the Secret (postgresql://u:p@<secret>/app for a `uri`); an optional one is
    left out, so a process must start without it."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]].get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), var["value"])
        elif (ref := var.get("valueFrom", {}).get("secretKeyRef")) and not ref.get("optional"):
            stand_in = f"postgresql://u:p@{ref['name']}/app" if ref["key"] == "uri" else "pw"
            env[var["name"]] = stand_in
    return env


def processes(docs: Sequence[Doc]) -> tuple[list[Process], list[str]]:
    config_maps = by_kind(docs, "ConfigMap")
    found, problems, served = [], [], set()
    for deployment in by_kind(docs, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            args = container.get("args", [])
            if args[:1] != ["serve"]:
                continue
            served.add(args[1])
            env = resolve_env(container, config_maps)
            try:
                settings = load_settings(env)
            except SettingsError as exc:
                problems.append(f"{args[1]}: its settings do not load: {exc}")
                continue
            found.append(Process(args[1], deployment, container, settings, env))
    missing = {*SERVICES, GATEWAY} - served
    problems += [f"{name}: no Deployment runs `weftwork serve {name}`" for name in missing]
    return found, problems


def _probe_problems(process: Process) -> list[str]:
    name, container = process.name, process.container
    probes = {kind: container.get(f"{kind}Probe") for kind in ("startup", "liveness", "readiness")}
    problems = [f"{name}: no {kind} probe" for kind, probe in probes.items() if probe is None]
    if name == GATEWAY:
        port_names = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        wanted = {"startup": "/healthz", "liveness": "/healthz", "readiness": "/readyz"}
        for kind, path in wanted.items():
            http = (probes[kind] or {}).get("httpGet", {})
            port = port_names.get(http.get("port"), http.get("port"))
            if probes[kind] and (http.get("path") != path or port != process.settings.gateway_port):
                problems.append(f"{name}: {kind} probe must GET {path} on the gateway port")
        return problems
    # Under mutual TLS the kubelet (no client certificate) asks the plaintext health port.
    port = process.settings.grpc_ports[name]
    if process.settings.tls_identity(name) is not None:
        port = process.settings.health_ports.get(name, 0)
        named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        if not port or named.get("health") != port:
            problems.append(f"{name}: its health port must be set and the container port 'health'")
    for kind, probe in probes.items():
        grpc = (probe or {}).get("grpc")
        if probe and (grpc is None or grpc.get("port") != port):
            problems.append(f"{name}: {kind} probe must be native gRPC on port {port}")
    readiness = (probes["readiness"] or {}).get("grpc") or {}
    if probes["readiness"] and readiness.get("service") != full_service_name(name):
        problems.append(f"{name}: readiness must ask for {full_service_name(name)}")
    return problems


def _drain_problems(process: Process) -> list[str]:
    """The pod must outlive preStop, the gRPC drain and the background stop (2 x grace)."""
    spec = process.deployment["spec"]["template"]["spec"]
    period = spec.get("terminationGracePeriodSeconds", 30)
    command = process.container.get("lifecycle", {}).get("preStop", {}).get("exec", {})
    pre_stop = float(command["command"][1]) if command.get("command", [""])[0] == "sleep" else 0.0
    needed = pre_stop + 2 * process.settings.shutdown_grace_seconds
    if period <= needed:
        return [f"{process.name}: terminationGracePeriodSeconds {period} <= {needed:g} s of drain"]
    return []


def _wiring_problems(process: Process, docs: Sequence[Doc]) -> list[str]:
    """Ports, dialled Services, the NATS user and the service's own database cluster."""
    settings, name, problems = process.settings, process.name, []
    services, clusters = by_kind(docs, "Service"), by_kind(docs, "Cluster")
    listening = {p["containerPort"] for p in process.container.get("ports", [])}
    own_port = settings.gateway_port if name == GATEWAY else settings.grpc_ports[name]
    if own_port not in listening or settings.host != "0.0.0.0":
        problems.append(f"{name}: must listen on 0.0.0.0:{own_port} (a declared container port)")
    for callee in sorted(CALLS.get(name, ())):
        target, port = settings.grpc_target(callee), settings.grpc_ports[callee]
        service = services.get(target.removeprefix("dns:///").rpartition(":")[0], {})
        spec = service.get("spec", {})
        if not (
            target.startswith("dns:///")
            and target.endswith(f":{port}")
            and spec.get("clusterIP") == "None"
            and spec.get("selector", {}).get("app.kubernetes.io/name") == callee
            and port in {p["port"] for p in spec.get("ports", [])}
        ):
            problems.append(f"{name}: dials {callee} at {target!r}, not its headless Service")
    user, _, address = settings.nats_url.partition("://")[2].partition("@")
    if user.partition(":")[0] != name or address.partition(":")[0] not in services:
        problems.append(f"{name}: NATS URL must use user {name!r} and a Service of this overlay")
    if name in SERVICES:
        problems += _metrics_port_problems(process, services.get(name))
    if name in SERVICES and (cluster := database_of(process)) not in clusters:
        problems.append(
            f"{name}: database secret {cluster + '-app'!r} is no CloudNativePG cluster's"
        )
    return problems


def _metrics_port_problems(process: Process, service: Doc | None) -> list[str]:
    """The metrics port the service binds is the container's and its Service's port `metrics`."""
    name, port = process.name, process.settings.metrics_ports[process.name]
    named = {p.get("name"): p["containerPort"] for p in process.container.get("ports", [])}
    problems = []
    if named.get("metrics") != port:
        problems.append(f"{name}: metrics port {port} must be the container port named 'metrics'")
    ports = (service or {}).get("spec", {}).get("ports", [])
    if service is not None and not any(p.get("name") == "metrics" for p in ports):
        problems.append(f"{name}: its Service has no port named 'metrics'")
    return problems


def scrape_port(process: Process) -> int | None:
    """The port Prometheus is told to scrape (prometheus.io/* pod annotations), if any."""
    annotations = process.deployment["spec"]["template"]["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/scrape") != "true":
        return None
    return int(annotations.get("prometheus.io/port", "0"))


def _scrape_problems(process: Process) -> list[str]:
    port = scrape_port(process)
    if port is None:
        return []
    annotations = process.deployment["spec"]["template"]["metadata"]["annotations"]
    settings, name = process.settings, process.name
    wanted = settings.gateway_port if name == GATEWAY else settings.metrics_ports[name]
    if port != wanted or annotations.get("prometheus.io/path") != "/metrics":
        return [f"{name}: Prometheus must scrape /metrics on port {wanted}"]
    return []


def database_of(process: Process) -> str:
    """The CloudNativePG cluster whose app secret (<cluster>-app) the service reads."""
    url = process.settings.database_url_for(process.name)
    return url.split("@", 1)[1].split("/", 1)[0].removesuffix("-app")


def _migration_problems(process: Process, docs: Sequence[Doc]) -> list[str]:
    spec = process.deployment["spec"]["template"]["spec"]
    migrations = [c for c in spec.get("initContainers", []) if c.get("args")[:1] == ["migrate"]]
    if not migrations or migrations[0]["args"] != ["migrate", process.name]:
        return [f"{process.name}: no init container runs `weftwork migrate {process.name}`"]
    env = resolve_env(migrations[0], by_kind(docs, "ConfigMap"))
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        return [f"{process.name}: migration settings do not load: {exc}"]
    if settings.embedded_postgres or settings.database_url_for(process.name) != (
        process.settings.database_url_for(process.name)
    ):
        return [f"{process.name}: migrations must use the service's own database server"]
    return []


def _tls_problems(process: Process, docs: Sequence[Doc]) -> list[str]:
    """Its own certificate: TLS files from a mounted Secret <name>-tls, which a cert-manager
    Certificate fills with its identity (spiffe://weftwork/<name>, DNS <name>) from an Issuer
    of this overlay."""
    name, files = process.name, process.settings.tls_identity(process.name)
    if files is None:
        return [f"{name}: gRPC must run over mutual TLS (WEFTWORK_TLS_CA/CERT/KEY)"]
    spec = process.deployment["spec"]["template"]["spec"]
    secrets = {
        v["name"]: v["secret"].get("secretName") for v in spec.get("volumes", []) if "secret" in v
    }
    mounted = {
        m["mountPath"].rstrip("/"): secrets.get(m["name"])
        for m in process.container.get("volumeMounts", [])
    }
    problems = []
    for path in (files.ca, files.cert, files.key):
        if mounted.get(str(path.parent)) != f"{name}-tls":
            problems.append(f"{name}: {path} is not in the mounted Secret {name}-tls")
    issued = [
        c["spec"]
        for c in by_kind(docs, "Certificate").values()
        if c["spec"].get("secretName") == f"{name}-tls"
    ]
    issuers = set(by_kind(docs, "Issuer")) | set(by_kind(docs, "ClusterIssuer"))
    if not any(
        f"spiffe://weftwork/{name}" in c.get("uris", [])
        and name in c.get("dnsNames", [])
        and c["issuerRef"]["name"] in issuers
        for c in issued
    ):
        problems.append(
            f"{name}: no Certificate of spiffe://weftwork/{name} (DNS {name}) from an Issuer "
            f"of this overlay fills the Secret {name}-tls"
        )
    return problems


def process_problems(docs: Sequence[Doc]) -> list[str]:
    found, problems = processes(docs)
    for process in found:
        problems += _probe_problems(process) + _drain_problems(process)
        problems += _tls_problems(process, docs)
        problems += _scrape_problems(process)
        problems += _wiring_problems(process, docs)
        if process.name in SERVICES:
            problems += _migration_problems(process, docs)
    # One legal-entity configuration (docs/finance.md): set, and the same, for every process.
    entities = {p.name: p.env.get("WEFTWORK_LEGAL_ENTITIES", "") for p in found}
    problems += [f"{n}: WEFTWORK_LEGAL_ENTITIES is not set" for n, v in entities.items() if not v]
    if len(set(entities.values())) > 1:
        problems.append("the processes do not share one WEFTWORK_LEGAL_ENTITIES")
    return problems
