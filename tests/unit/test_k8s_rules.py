"""The rules `make k8s-check` applies to rendered manifests catch the mistakes they exist for."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES, dump_legal_entities
from tools.k8s_paths import evaluate
from tools.k8s_rules import process_problems, resolve_env
from tools.k8s_topology import network_problems

SHARED = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "weftwork"},
    "data": {
        "WEFTWORK_HOST": "0.0.0.0",
        "WEFTWORK_SHUTDOWN_GRACE_SECONDS": "10",
        "WEFTWORK_CUSTOMER_TARGET": "dns:///customer:50051",
        "WEFTWORK_TLS_CA": "/etc/weftwork/tls/ca.crt",
        "WEFTWORK_TLS_CERT": "/etc/weftwork/tls/tls.crt",
        "WEFTWORK_TLS_KEY": "/etc/weftwork/tls/tls.key",
        "WEFTWORK_CUSTOMER_HEALTH_PORT": "50061",
    },
}


def secret(name: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def customer() -> dict[str, Any]:
    """A customer Deployment as k8s/base writes it, reduced to what the rules read."""
    database = [
        {"name": "WEFTWORK_DATABASE_URL", **secret("customer-db-app", "uri")},
        {"name": "WEFTWORK_CUSTOMER_DATABASE_URL", **secret("customer-db-app", "uri")},
    ]
    grpc = {"grpc": {"port": 50061}}  # the plaintext health port: probes have no certificate
    container = {
        "name": "customer",
        "args": ["serve", "customer"],
        "ports": [
            {"name": "grpc", "containerPort": 50051},
            {"name": "metrics", "containerPort": 9451},
            {"name": "health", "containerPort": 50061},
        ],
        "envFrom": [
            {"configMapRef": {"name": "weftwork"}},
            {"configMapRef": {"name": "legal-entities"}},
        ],
        "env": [
            {"name": "NATS_PASSWORD", **secret("nats-users", "customer")},
            {"name": "WEFTWORK_NATS_URL", "value": "nats://customer:$(NATS_PASSWORD)@nats:4222"},
            *database,
        ],
        "startupProbe": grpc,
        "livenessProbe": grpc,
        "readinessProbe": {
            "grpc": {"port": 50061, "service": "weftwork.customer.v1.CustomerService"}
        },
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "volumeMounts": [{"name": "tls", "mountPath": "/etc/weftwork/tls", "readOnly": True}],
    }
    migrate = {
        "name": "migrate",
        "args": ["migrate", "customer"],
        "envFrom": container["envFrom"],
        "env": database,
    }
    labels = {"app.kubernetes.io/name": "customer"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "customer"},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 40,
                    "initContainers": [migrate],
                    "containers": [container],
                    "volumes": [{"name": "tls", "secret": {"secretName": "customer-tls"}}],
                },
            }
        },
    }


def manifests(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    nats = {
        "kind": "Service",
        "metadata": {"name": "nats"},
        "spec": {"ports": [{"port": 4222}], "selector": {"app.kubernetes.io/name": "nats"}},
    }
    database = {"kind": "Cluster", "metadata": {"name": "customer-db"}, "spec": {"instances": 1}}
    return [SHARED, nats, database, ISSUER, certificate(), deployment, ENTITIES]


ENTITIES = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "legal-entities"},
    "data": {"WEFTWORK_LEGAL_ENTITIES": dump_legal_entities(DEFAULT_LEGAL_ENTITIES)},
}


ISSUER = {"kind": "Issuer", "metadata": {"name": "weftwork-ca"}, "spec": {"ca": {}}}


def certificate(uri: str = "spiffe://weftwork/customer") -> dict[str, Any]:
    return {
        "kind": "Certificate",
        "metadata": {"name": "customer"},
        "spec": {
            "secretName": "customer-tls",
            "dnsNames": ["customer"],
            "uris": [uri],
            "issuerRef": {"name": "weftwork-ca"},
        },
    }


def customer_problems(deployment: dict[str, Any]) -> list[str]:
    return [p for p in process_problems(manifests(deployment)) if p.startswith("customer:")]


def container_of(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_a_service_as_the_base_writes_it_passes() -> None:
    assert customer_problems(customer()) == []


def test_the_environment_is_built_as_the_kubelet_would() -> None:
    env = resolve_env(container_of(customer()), {"weftwork": SHARED, "legal-entities": ENTITIES})
    assert env["WEFTWORK_NATS_URL"] == "nats://customer:pw@nats:4222"
    assert env["WEFTWORK_CUSTOMER_DATABASE_URL"] == "postgresql://u:p@customer-db-app/app"
    assert env["WEFTWORK_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("probe", ["startupProbe", "livenessProbe", "readinessProbe"])
def test_a_removed_probe_is_reported(probe: str) -> None:
    deployment = customer()
    del container_of(deployment)[probe]
    kind = probe.removesuffix("Probe")
    assert f"customer: no {kind} probe" in customer_problems(deployment)


def test_readiness_must_ask_for_the_service_that_stops_serving_first() -> None:
    deployment = customer()
    container_of(deployment)["readinessProbe"]["grpc"].pop("service")
    assert customer_problems(deployment) == [
        "customer: readiness must ask for weftwork.customer.v1.CustomerService"
    ]


def test_a_probe_on_another_port_is_reported() -> None:
    deployment = customer()
    container_of(deployment)["livenessProbe"] = {"grpc": {"port": 50051}}  # needs a certificate
    assert customer_problems(deployment) == [
        "customer: liveness probe must be native gRPC on port 50061"
    ]


def test_grpc_without_mutual_tls_is_reported() -> None:
    docs = manifests(customer())
    shared: dict[str, str] = SHARED["data"]  # type: ignore[assignment]
    docs[0] = {**SHARED, "data": {k: v for k, v in shared.items() if "_TLS_" not in k}}
    problems = [p for p in process_problems(docs) if p.startswith("customer:")]
    assert "customer: gRPC must run over mutual TLS (WEFTWORK_TLS_CA/CERT/KEY)" in problems


def test_a_certificate_of_another_identity_or_an_unmounted_secret_is_reported() -> None:
    docs = manifests(customer())
    docs[4] = certificate("spiffe://weftwork/billing")
    problems = [p for p in process_problems(docs) if p.startswith("customer:")]
    assert problems == [
        "customer: no Certificate of spiffe://weftwork/customer (DNS customer) from an Issuer "
        "of this overlay fills the Secret customer-tls"
    ]
    deployment = customer()
    deployment["spec"]["template"]["spec"]["volumes"] = []
    assert customer_problems(deployment) == [
        f"customer: /etc/weftwork/tls/{file} is not in the mounted Secret customer-tls"
        for file in ("ca.crt", "tls.crt", "tls.key")
    ]


def test_the_pod_must_outlive_the_drain() -> None:
    deployment = customer()
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 25
    assert customer_problems(deployment) == [
        "customer: terminationGracePeriodSeconds 25 <= 25 s of drain"
    ]


def test_migrations_must_reach_the_database_server_not_start_an_embedded_one() -> None:
    deployment = customer()
    migrate = deployment["spec"]["template"]["spec"]["initContainers"][0]
    migrate["env"] = migrate["env"][1:]  # only the service's own URL: migrate looks for embedded
    assert customer_problems(deployment) == [
        "customer: migrations must use the service's own database server"
    ]


def test_a_database_secret_of_no_cluster_is_reported() -> None:
    deployment = customer()
    for container in (
        container_of(deployment),
        deployment["spec"]["template"]["spec"]["initContainers"][0],
    ):
        for var in container["env"]:
            if var["name"].endswith("DATABASE_URL"):
                var["valueFrom"]["secretKeyRef"]["name"] = "billing-db-app"
    assert "customer: database secret 'billing-db-app' is no CloudNativePG cluster's" in (
        customer_problems(deployment)
    )


def test_a_metrics_port_the_container_does_not_declare_is_reported() -> None:
    deployment = customer()
    container_of(deployment)["ports"][1]["containerPort"] = 9999
    assert customer_problems(deployment) == [
        "customer: metrics port 9451 must be the container port named 'metrics'"
    ]


def test_scrape_annotations_must_point_prometheus_at_the_metrics_port() -> None:
    deployment = customer()
    template = deployment["spec"]["template"]
    template["metadata"]["annotations"] = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9451",
        "prometheus.io/path": "/metrics",
    }
    assert customer_problems(deployment) == []
    template["metadata"]["annotations"]["prometheus.io/port"] = "50051"
    assert customer_problems(deployment) == [
        "customer: Prometheus must scrape /metrics on port 9451"
    ]


def pod(name: str, port: int) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    container = {"name": name, "ports": [{"containerPort": port}]}
    return {
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }


def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}


CALLEE = {"key": "app.kubernetes.io/name", "operator": "In", "values": ["callee"]}
DENY_ALL = policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
CALLER_TO_CALLEE = [
    policy(
        "callee",
        {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "callee"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "caller"}}}
                    ],
                    "ports": [{"protocol": "TCP", "port": 50051}],
                }
            ],
        },
    ),
    policy(
        "caller",
        {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "caller"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {"matchExpressions": [CALLEE]}}]}],
        },
    ),
]


def test_default_deny_closes_every_path() -> None:
    paths = evaluate([pod("caller", 8080), pod("callee", 50051), DENY_ALL])
    assert paths.inside == frozenset()
    assert paths.ingress_from_outside == frozenset()
    assert paths.egress_to_outside == frozenset()


def test_a_path_is_open_only_when_both_ends_allow_it() -> None:
    docs = [pod("caller", 8080), pod("callee", 50051), DENY_ALL, *CALLER_TO_CALLEE]
    assert evaluate(docs).inside == {("caller", "callee", 50051)}
    without_ingress_rule = [d for d in docs if d is not CALLER_TO_CALLEE[0]]
    assert evaluate(without_ingress_rule).inside == frozenset()


def test_without_default_deny_an_unselected_pod_is_open_to_everyone() -> None:
    paths = evaluate([pod("caller", 8080), pod("callee", 50051), *CALLER_TO_CALLEE])
    assert ("callee", "caller", 8080) in paths.inside
    assert ("caller", 8080) in paths.ingress_from_outside


def test_peers_in_other_namespaces_count_as_outside() -> None:
    from_ingress_controller = policy(
        "callee-public",
        {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "callee"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"name": "ingress"}}}],
                    "ports": [{"port": 50051}],
                }
            ],
        },
    )
    docs = [pod("caller", 8080), pod("callee", 50051), DENY_ALL, from_ingress_controller]
    paths = evaluate(docs)
    assert paths.ingress_from_outside == {("callee", 50051)}
    assert paths.inside == frozenset()


def test_a_namespace_without_default_deny_is_reported() -> None:
    missing = "no default-deny NetworkPolicy (every pod, both ways)"
    assert missing in network_problems(manifests(customer()))
    assert missing not in network_problems([*manifests(customer()), DENY_ALL])


def test_a_process_without_the_legal_entities_or_with_a_bad_one_is_reported() -> None:
    deployment = customer()
    container_of(deployment)["envFrom"] = [{"configMapRef": {"name": "weftwork"}}]
    assert customer_problems(deployment) == ["customer: WEFTWORK_LEGAL_ENTITIES is not set"]
    docs = manifests(customer())
    docs[-1] = {**ENTITIES, "data": {"WEFTWORK_LEGAL_ENTITIES": '[{"code": "FR01"}]'}}
    [problem] = [p for p in process_problems(docs) if p.startswith("customer:")]
    assert problem.startswith(
        "customer: its settings do not load: WEFTWORK_LEGAL_ENTITIES: legal entity FR01: name"
    )
