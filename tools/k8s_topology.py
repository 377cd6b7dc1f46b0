"""Rules about a rendered overlay as a whole: network paths, NATS durability, production shape."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mesh.settings import DEFAULT_GRPC_PORTS
from tools.k8s_paths import differences, evaluate
from tools.k8s_rules import (
    CALLS,
    GATEWAY,
    SERVICES,
    Doc,
    by_kind,
    database_of,
    processes,
    scrape_port,
)

# Reached from outside the namespace: the ingress controller, and the CloudNativePG operator.
OUTSIDE_IN = {GATEWAY: {8000}, "database": {8000}}
DNS, KUBE_API, OTLP = 53, (443, 6443), 4317
# Processes that call APIs on the internet over HTTPS (connect: the CRMs' APIs).
CALLS_OUT_HTTPS = {"connect"}


def network_problems(docs: Sequence[Doc]) -> list[str]:
    """The policies open exactly DESIGN.md section 1 (plus infrastructure), nothing else."""
    found, _ = processes(docs)
    clusters = set(by_kind(docs, "Cluster"))
    paths = evaluate(docs)
    inside = {
        (caller, callee, DEFAULT_GRPC_PORTS[callee]) for caller in CALLS for callee in CALLS[caller]
    }
    inside |= {(p.name, "nats", 4222) for p in found} | {("nats", "nats", 6222)}
    inside |= {(p.name, database_of(p), 5432) for p in found if p.name in SERVICES}
    inside |= {(c, c, port) for c in clusters for port in (5432, 8000)}
    outside_in = {(GATEWAY, port) for port in OUTSIDE_IN[GATEWAY]}
    outside_in |= {(c, port) for c in clusters for port in OUTSIDE_IN["database"]}
    # Prometheus (components/prometheus) scrapes the processes annotated for it.
    outside_in |= {(p.name, port) for p in found if (port := scrape_port(p)) is not None}
    pods = {p.name for p in found} | {"nats"} | clusters
    outside_out = {(pod, DNS) for pod in pods} | {(c, port) for c in clusters for port in KUBE_API}
    outside_out |= {(p.name, OTLP) for p in found if "OTEL_EXPORTER_OTLP_ENDPOINT" in p.env}
    outside_out |= {(p.name, 443) for p in found if p.name in CALLS_OUT_HTTPS}
    denies_all = [
        p
        for p in by_kind(docs, "NetworkPolicy").values()
        if p["spec"].get("podSelector") == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    problems = [] if denies_all else ["no default-deny NetworkPolicy (every pod, both ways)"]
    problems += differences("path", paths.inside, inside)
    problems += differences("from outside", paths.ingress_from_outside, outside_in)
    problems += differences("to outside", paths.egress_to_outside, outside_out)
    return problems


def nats_problems(docs: Sequence[Doc]) -> list[str]:
    """Durable JetStream: fsync always, a real cluster when there are several nodes, and no
    stream asking for more replicas than there are nodes."""
    nats = by_kind(docs, "StatefulSet").get("nats")
    if nats is None:
        return ["nats: no StatefulSet"]
    nodes = nats["spec"].get("replicas", 1)
    volume = next(v for v in nats["spec"]["template"]["spec"]["volumes"] if "configMap" in v)
    config = by_kind(docs, "ConfigMap")[volume["configMap"]["name"]]["data"]
    problems = []
    if "sync_interval: always" not in config.get("server.conf", ""):
        problems.append("nats: JetStream must fsync every write (sync_interval: always)")
    routes = len(re.findall(r"nats://nats-\d+\.", config.get("nats.conf", "")))
    if nodes > 1 and routes != nodes:
        problems.append(f"nats: {nodes} nodes but {routes} cluster routes in nats.conf")
    found, _ = processes(docs)
    problems += [
        f"{p.name}: WEFTWORK_STREAM_REPLICAS={p.settings.stream_replicas} > {nodes} NATS nodes"
        for p in found
        if p.settings.stream_replicas > nodes
    ]
    return problems


def production_problems(docs: Sequence[Doc]) -> list[str]:
    """Replicas >= 2 (autoscaled), a disruption budget and spreading for every part."""
    found, _ = processes(docs)
    scalers = [h["spec"] for h in by_kind(docs, "HorizontalPodAutoscaler").values()]
    budgets = [b["spec"]["selector"] for b in by_kind(docs, "PodDisruptionBudget").values()]
    problems = []
    parts = [(p.name, p.deployment) for p in found] + [
        ("nats", by_kind(docs, "StatefulSet")["nats"])
    ]
    for name, workload in parts:
        template = workload["spec"]["template"]
        labels, pod = template["metadata"]["labels"], template["spec"]
        if not any(
            all(labels.get(k) == v for k, v in b.get("matchLabels", {}).items()) for b in budgets
        ):
            problems.append(f"{name}: no PodDisruptionBudget")
        if "podAntiAffinity" not in pod.get("affinity", {}):
            problems.append(f"{name}: no pod anti-affinity")
    for p in found:
        scaler = [
            s for s in scalers if s["scaleTargetRef"]["name"] == p.deployment["metadata"]["name"]
        ]
        if not scaler or scaler[0].get("minReplicas", 1) < 2:
            problems.append(f"{p.name}: needs an autoscaler with minReplicas >= 2")
        if p.settings.stream_replicas != 3:
            problems.append(f"{p.name}: WEFTWORK_STREAM_REPLICAS must be 3 in production")
        if not p.settings.nats_url.startswith("tls://"):
            problems.append(f"{p.name}: production dials NATS with tls:// (TLS first)")
    if by_kind(docs, "StatefulSet")["nats"]["spec"].get("replicas") != 3:
        problems.append("nats: production runs three nodes")
    nats = by_kind(docs, "StatefulSet")["nats"]["spec"]["template"]["spec"]
    volume = next(v for v in nats["volumes"] if "configMap" in v)["configMap"]["name"]
    client_tls = by_kind(docs, "ConfigMap")[volume]["data"].get("tls.conf", "")
    block = re.search(r"^tls\s*\{[^}]*\}", client_tls, re.MULTILINE)
    if not block or not all(
        re.search(rf"^\s*{option}:\s*true\s*$", block[0], re.MULTILINE)
        for option in ("verify", "handshake_first")
    ):
        problems.append("nats: production requires TLS first and client certificates (tls.conf)")
    for name, cluster in by_kind(docs, "Cluster").items():
        spec = cluster["spec"]
        if (
            spec["instances"] < 3
            or spec.get("affinity", {}).get("podAntiAffinityType") != "required"
        ):
            problems.append(f"{name}: production needs 3 instances on distinct nodes")
    return problems
