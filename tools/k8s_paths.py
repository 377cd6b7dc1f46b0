"""Which connections the NetworkPolicies of a rendered overlay allow, evaluated as Kubernetes does.

A pod is a workload's pod template (its labels and listening ports). A connection from pod A
to port P of pod B is allowed when A may send it (no policy isolates A for egress, or one of
A's egress rules admits B on P) and B may receive it (likewise for ingress). Peers chosen by
namespaceSelector or ipBlock are outside the namespace: those paths are reported separately,
per pod and port, so that `expected` lists can name every door that is open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Doc = Mapping[str, Any]
ANY_PORT = 0  # a rule without ports admits every port


@dataclass(frozen=True)
class Pod:
    name: str  # the workload: app.kubernetes.io/name, or the database cluster's name
    labels: Mapping[str, str]
    ports: frozenset[int]


@dataclass(frozen=True)
class Paths:
    inside: frozenset[tuple[str, str, int]]  # (from, to, port) between pods of the overlay
    ingress_from_outside: frozenset[tuple[str, int]]  # (pod, port) reachable from elsewhere
    egress_to_outside: frozenset[tuple[str, int]]  # (pod, port) it may reach elsewhere


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector; an empty one selects everything."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for rule in selector.get("matchExpressions", []):
        present, value = rule["key"] in labels, labels.get(rule["key"])
        operator, values = rule["operator"], rule.get("values", [])
        if (
            (operator == "In" and value not in values)
            or (operator == "NotIn" and value in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def pods_of(docs: Iterable[Doc]) -> list[Pod]:
    """Deployments and StatefulSets by their pod templates; CloudNativePG clusters by the
    labels the operator puts on instance pods (cnpg.io/cluster plus inheritedMetadata)."""
    pods = []
    for doc in docs:
        if doc["kind"] in {"Deployment", "StatefulSet"}:
            template = doc["spec"]["template"]
            labels = template["metadata"]["labels"]
            ports = {
                port["containerPort"]
                for container in template["spec"]["containers"]
                for port in container.get("ports", [])
            }
            pods.append(Pod(labels["app.kubernetes.io/name"], labels, frozenset(ports)))
        elif doc["kind"] == "Cluster":
            name = doc["metadata"]["name"]
            inherited = doc["spec"].get("inheritedMetadata", {}).get("labels", {})
            labels = {**inherited, "cnpg.io/cluster": name}
            pods.append(Pod(name, labels, frozenset({5432, 8000})))
    return pods


def _ports(rule: Mapping[str, Any]) -> set[int]:
    return {port["port"] for port in rule.get("ports", [])} or {ANY_PORT}


def _admits(rule: Mapping[str, Any], direction: str, peer: Pod | None, port: int) -> bool:
    """Does one ingress/egress rule admit this peer (None: outside the namespace) on port?"""
    ports = _ports(rule)
    if ANY_PORT not in ports and port not in ports:
        return False
    peers = rule.get("from" if direction == "Ingress" else "to")
    if not peers:
        return True
    for entry in peers:
        outside = "namespaceSelector" in entry or "ipBlock" in entry
        if peer is None and outside:
            return True
        # ipBlock may cover pod addresses too (CNI-dependent): count it as matching every pod.
        if peer is not None and (
            "ipBlock" in entry or (not outside and selects(entry.get("podSelector"), peer.labels))
        ):
            return True
    return False


def _allowed(
    policies: Sequence[Doc], pod: Pod, direction: str, peer: Pod | None, port: int
) -> bool:
    isolating = [
        p
        for p in policies
        if direction in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"].get("podSelector"), pod.labels)
    ]
    if not isolating:
        return True
    key = "ingress" if direction == "Ingress" else "egress"
    return any(
        _admits(rule, direction, peer, port) for p in isolating for rule in p["spec"].get(key, [])
    )


def evaluate(docs: Sequence[Doc]) -> Paths:
    policies = [doc for doc in docs if doc["kind"] == "NetworkPolicy"]
    pods = pods_of(docs)
    inside = {
        (source.name, target.name, port)
        for source in pods
        for target in pods
        for port in target.ports
        if _allowed(policies, source, "Egress", target, port)
        and _allowed(policies, target, "Ingress", source, port)
    }
    ingress = {
        (pod.name, port)
        for pod in pods
        for port in pod.ports
        if _allowed(policies, pod, "Ingress", None, port)
    }
    # Ports named by any egress rule, plus "any port" for rules (or pods) that name none.
    candidates = {ANY_PORT} | {
        port for p in policies for rule in p["spec"].get("egress", []) for port in _ports(rule)
    }
    egress = {
        (pod.name, port)
        for pod in pods
        for port in candidates
        if _allowed(policies, pod, "Egress", None, port)
    }
    return Paths(frozenset(inside), frozenset(ingress), frozenset(egress))


def differences(name: str, allowed: set[Any] | frozenset[Any], expected: set[Any]) -> list[str]:
    """Readable problems: what is open but not expected, and what is expected but closed."""
    return [f"{name}: open but not expected: {path}" for path in sorted(allowed - expected)] + [
        f"{name}: expected but closed: {path}" for path in sorted(expected - allowed)
    ]
