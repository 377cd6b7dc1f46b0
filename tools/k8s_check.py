"""`make k8s-check`: the deployment and the contracts, checked offline; exit 1 on any failure.

    .venv-k8s/bin/python tools/k8s_check.py

For every overlay in k8s/overlays: `kubectl kustomize` renders it; kubernetes-validate --strict
checks the built-in kinds against the oldest and newest Kubernetes we support; check-jsonschema
checks the custom resources (CloudNativePG clusters, cert-manager certificates and issuers)
against k8s/schemas; checkov scans the manifests and the Dockerfile (skips only those in
k8s/checkov-skips.yaml, each with its reason); nats-server parses the rendered NATS
configuration (with throwaway certificates where it names some); tools/k8s_rules.py and
tools/k8s_topology.py apply
Weftwork's own rules (settings, probes, drain, wiring, network paths, production shape).
Then hadolint lints the Dockerfile and `buf breaking` compares the contracts with the
previous commit (and with HEAD when proto/ has uncommitted edits).

The tools come from k8s/requirements.txt (this interpreter's virtualenv); nats-server and buf
from the project's .venv. None of them downloads anything: every schema is local.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # mesh.settings and tools.k8s_rules, without installing the project

from tools import k8s_rules, k8s_topology  # noqa: E402

K8S = ROOT / "k8s"
TOOLS = Path(sys.executable).parent
PROJECT_TOOLS = ROOT / ".venv" / "bin"
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")  # the oldest we support, the newest the tool knows
BUILTIN_API_VERSIONS = {
    "v1",
    "apps/v1",
    "autoscaling/v2",
    "networking.k8s.io/v1",
    "policy/v1",
}
CUSTOM_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): K8S / "schemas" / "cnpg-cluster-v1.json",
    ("cert-manager.io/v1", "Certificate"): K8S / "schemas" / "cert-manager-certificate-v1.json",
    ("cert-manager.io/v1", "Issuer"): K8S / "schemas" / "cert-manager-issuer-v1.json",
}
# nats-server -t opens the files a `tls {}` block names; the check gives it stand-ins.
_TLS_FILE = re.compile(r"^(\s*(?:cert_file|key_file|ca_file):\s*)(\S+)\s*$", re.MULTILINE)
Doc = dict[str, Any]


class Check:
    """Runs steps, prints each outcome with its time, remembers the failures."""

    def __init__(self) -> None:
        self.failed = 0

    def step(self, name: str, action: Callable[[], list[str]]) -> None:
        started = time.monotonic()
        try:
            problems = action()
        except subprocess.CalledProcessError as exc:
            problems = [f"{Path(exc.cmd[0]).name} exited {exc.returncode}", *_output(exc)]
        except Exception as exc:  # a manifest the rules cannot read is a failure, not a crash
            problems = [f"{type(exc).__name__}: {exc}"]
        status = "ok" if not problems else "FAILED"
        print(f"{status:>6}  {name}  ({time.monotonic() - started:.1f} s)", flush=True)
        for problem in problems:
            print(f"        {problem}")
        self.failed += bool(problems)


def _output(exc: subprocess.CalledProcessError) -> list[str]:
    text = "\n".join(part for part in (exc.stdout, exc.stderr) if part)
    return [line for line in text.splitlines() if line.strip()][-40:]


def run(*command: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout


def render(overlay: Path, workdir: Path) -> list[Doc]:
    text = run(TOOLS / "kubectl", "kustomize", overlay)
    (workdir / "rendered" / f"{overlay.name}.yaml").write_text(text)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kubernetes_validate(name: str, docs: Sequence[Doc], workdir: Path) -> list[str]:
    builtin = [doc for doc in docs if doc["apiVersion"] in BUILTIN_API_VERSIONS]
    unknown = [
        f"{doc['apiVersion']} {doc['kind']} {doc['metadata']['name']}: no schema to check it with"
        for doc in docs
        if doc["apiVersion"] not in BUILTIN_API_VERSIONS
        and (doc["apiVersion"], doc["kind"]) not in CUSTOM_SCHEMAS
    ]
    path = workdir / f"{name}-builtin.yaml"
    path.write_text(yaml.safe_dump_all(builtin))
    for version in KUBERNETES_VERSIONS:
        run(TOOLS / "kubernetes-validate", "--strict", "--quiet", "-k", version, path)
    return unknown


def custom_schemas(name: str, docs: Sequence[Doc], workdir: Path) -> list[str]:
    for (api_version, kind), schema in CUSTOM_SCHEMAS.items():
        paths = []
        for doc in docs:
            if (doc["apiVersion"], doc["kind"]) == (api_version, kind):
                paths.append(workdir / f"{name}-{kind}-{doc['metadata']['name']}.json")
                paths[-1].write_text(json.dumps(doc))
        if paths:
            run(TOOLS / "check-jsonschema", "--schemafile", schema, *paths)
    return []


def stand_in(var: Doc) -> str:
    """A plausible value for an environment variable the kubelet would fill in."""
    source = var.get("valueFrom", {})
    if "resourceFieldRef" in source:
        return str(2**30)  # bytes, as the kubelet renders limits.memory
    if "fieldRef" in source:
        return "nats-0"
    return str(var.get("value", "stand-in"))


def nats_config(name: str, docs: Sequence[Doc], workdir: Path) -> list[str]:
    """nats-server parses the rendered configuration with exactly the variables the pod sets."""
    statefulset = next(
        d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "nats"
    )
    pod = statefulset["spec"]["template"]["spec"]
    volume = next(v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v)
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume)
    directory = workdir / f"{name}-nats"
    directory.mkdir()
    for file, text in config["data"].items():
        (directory / file).write_text(_with_stand_in_certificates(text, directory))
    env = {var["name"]: stand_in(var) for var in pod["containers"][0].get("env", [])}
    run(PROJECT_TOOLS / "nats-server", "-t", "-c", directory / "nats.conf", env=env)
    return []


def _with_stand_in_certificates(text: str, directory: Path) -> str:
    """The configuration with every cert_file/key_file/ca_file pointing at a self-signed
    certificate made here (the real ones exist only in the pod, from cert-manager)."""
    if not _TLS_FILE.search(text):
        return text
    cert, key = directory / "stand-in.crt", directory / "stand-in.key"
    if not cert.exists():
        run(
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=nats", "-keyout", key, "-out", cert,
        )  # fmt: skip

    def stand_in(match: re.Match[str]) -> str:
        chosen = key if match[1].strip().startswith("key_file") else cert
        return f"{match[1]}{chosen}"

    return _TLS_FILE.sub(stand_in, text)


def overlay_rules(name: str, docs: Sequence[Doc]) -> list[str]:
    problems = k8s_rules.process_problems(docs) + k8s_topology.network_problems(docs)
    problems += k8s_topology.nats_problems(docs)
    if name == "prod":
        problems += k8s_topology.production_problems(docs)
    return problems


def checkov(workdir: Path) -> list[str]:
    """Scans the rendered overlays and the Dockerfile in one run."""
    skips = yaml.safe_load((K8S / "checkov-skips.yaml").read_text())
    unexplained = [check for check, reason in skips.items() if not str(reason or "").strip()]
    if unexplained:
        return [f"k8s/checkov-skips.yaml: no reason given for {', '.join(unexplained)}"]
    scanned = workdir / "rendered"
    (scanned / "Dockerfile").write_text((ROOT / "Dockerfile").read_text())
    run(
        TOOLS / "checkov",
        "--directory", scanned,
        "--framework", "kubernetes", "dockerfile",
        "--skip-download",  # no policy metadata from the network
        "--skip-check", ",".join(skips),
        "--compact", "--quiet",
    )  # fmt: skip
    return []


def hadolint() -> list[str]:
    run(TOOLS / "hadolint", ROOT / "Dockerfile")
    return []


def buf_breaking() -> list[str]:
    """Compare the contracts with the previous commit, and with HEAD when proto/ has edits."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)

    previous = git("rev-parse", "--verify", "--quiet", "HEAD~1^{commit}")
    if previous.returncode != 0:
        print("        skipped: no previous commit to compare with (first commit or shallow clone)")
        return []
    against = [previous.stdout.strip()]
    if git("status", "--porcelain", "--", "proto", "buf.yaml").stdout.strip():
        against.append(git("rev-parse", "HEAD").stdout.strip())
    git_dir = git("rev-parse", "--path-format=absolute", "--git-common-dir").stdout.strip()
    for commit in against:
        print(f"        against {commit[:12]}")
        run(PROJECT_TOOLS / "buf", "breaking", "--against", f"{git_dir}#ref={commit}")
    return []


def check_overlay(check: Check, overlay: Path, workdir: Path) -> None:
    name, docs = overlay.name, []

    def rendered() -> list[str]:
        docs.extend(render(overlay, workdir))
        return []

    check.step(f"{name}: kubectl kustomize", rendered)
    if not docs:
        return
    check.step(
        f"{name}: kubernetes-validate --strict", lambda: kubernetes_validate(name, docs, workdir)
    )
    check.step(f"{name}: custom resource schemas", lambda: custom_schemas(name, docs, workdir))
    check.step(f"{name}: nats-server -t", lambda: nats_config(name, docs, workdir))
    check.step(f"{name}: Weftwork rules", lambda: overlay_rules(name, docs))


def main() -> int:
    check = Check()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="weftwork-k8s-") as tmp:
        workdir = Path(tmp)
        (workdir / "rendered").mkdir()
        for overlay in sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir()):
            check_overlay(check, overlay, workdir)
        check.step("checkov: manifests and Dockerfile", lambda: checkov(workdir))
    check.step("hadolint Dockerfile", hadolint)
    check.step("buf breaking", buf_breaking)
    elapsed = time.monotonic() - started
    if check.failed:
        print(f"k8s-check: {check.failed} check(s) failed in {elapsed:.0f} s")
        return 1
    print(f"k8s-check: all passed in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
