"""The local stack's side of connect: its secret-box key, and `weftwork connect apply FILE`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
import yaml

from devstack.connect_outbound import apply_outbound, read_outbound
from devstack.status import ops_identity
from mesh.grpc.client import open_channel
from mesh.grpc.errors import field_violations
from mesh.settings import CONNECT_KEY_FILE, Settings
from services.connect.adapters.secrets import generate_key
from weftwork.connect.v1 import connect_service_pb2 as pb
from weftwork.connect.v1 import connect_service_pb2_grpc as pb_grpc


def local_key(data_dir: Path) -> str:
    """The Fernet key that encrypts connect's stored secrets, created once in data_dir (0600)."""
    path = data_dir / CONNECT_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


# --- `weftwork connect apply FILE` --------------------------------------------------------------

_ENV_REF = re.compile(r"\$\{([A-Z0-9_]+)\}")
_SOURCE_KEYS = {
    "name",
    "kind",
    "secret",
    "orgIds",
    "mapping",
    "apiToken",
    "apiBaseUrl",
    "publicUrl",
    "enabled",
}


class ApplyError(ValueError):
    """The file cannot be applied as written."""


def _expand(value: str, env: Mapping[str, str]) -> str:
    """`${NAME}` from the environment, so the file can be committed without its secrets."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            raise ApplyError(f"${{{match.group(1)}}} is not set in the environment")
        return env[match.group(1)]

    return _ENV_REF.sub(one, value)


def read_sources(path: Path, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """The `sources:` of a YAML or JSON file, checked for shape (connect checks the rest)."""
    text = path.read_text()
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ApplyError(
            f"{path}: not {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("sources", []), list):
        raise ApplyError(f"{path}: expected a top-level `sources:` list")
    unknown = set(document) - {"sources", "endpoints", "writebacks"}
    if unknown:
        raise ApplyError(
            f"{path}: unknown top-level keys {sorted(unknown)} (sources, endpoints, writebacks)"
        )
    sources = []
    for i, raw in enumerate(document.get("sources", [])):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ApplyError(f"{path}: sources[{i}] needs a name")
        extra = set(raw) - _SOURCE_KEYS
        if extra:
            raise ApplyError(f"{path}: sources[{i}]: unknown keys {sorted(extra)}")
        for key in ("secret", "apiToken"):
            if isinstance(raw.get(key), str):
                raw[key] = _expand(raw[key], env)
        sources.append(raw)
    return sources


async def apply_sources(
    stub: pb_grpc.ConnectServiceStub, sources: list[dict[str, Any]]
) -> list[str]:
    """Create what is missing, update what exists; one line per source (a new whsec_ secret
    is printed once)."""
    existing = {
        s.name for s in (await stub.ListInboundSources(pb.ListInboundSourcesRequest())).sources
    }
    lines = []
    for raw in sources:
        mapping = json.dumps(raw["mapping"]) if raw.get("mapping") is not None else None
        if raw["name"] not in existing:
            answer = await stub.CreateInboundSource(
                pb.CreateInboundSourceRequest(
                    name=raw["name"],
                    kind=pb.SourceKind.Value(f"SOURCE_KIND_{str(raw.get('kind', '')).upper()}")
                    if str(raw.get("kind", "")).upper()
                    in {"HUBSPOT", "SALESFORCE", "STANDARD_WEBHOOKS"}
                    else pb.SOURCE_KIND_UNSPECIFIED,
                    secret=raw.get("secret", ""),
                    org_ids=raw.get("orgIds", []),
                    mapping_json=mapping or "",
                    api_token=raw.get("apiToken", ""),
                    api_base_url=raw.get("apiBaseUrl", ""),
                    public_url=raw.get("publicUrl", ""),
                )
            )
            shown = f" (signing secret, shown once: {answer.secret})" if answer.secret else ""
            lines.append(f"created {raw['name']}{shown}")
            continue
        request = pb.UpdateInboundSourceRequest(name=raw["name"])
        if mapping is not None:
            request.mapping_json = mapping
        for key, field in (
            ("secret", "secret"),
            ("apiToken", "api_token"),
            ("apiBaseUrl", "api_base_url"),
            ("publicUrl", "public_url"),
        ):
            if key in raw:
                setattr(request, field, raw[key])
        if "enabled" in raw:
            request.enabled = bool(raw["enabled"])
        if "orgIds" in raw:
            request.org_ids.extend(raw["orgIds"])
            request.replace_org_ids = True
        await stub.UpdateInboundSource(request)
        lines.append(f"updated {raw['name']}")
    return lines


def read_document(path: Path) -> dict[str, Any]:
    text = path.read_text()
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return {}  # read_sources says what is wrong
    return document if isinstance(document, dict) else {}


async def apply_file(settings: Settings, path: Path, env: Mapping[str, str]) -> list[str]:
    sources = read_sources(path, env)
    endpoints, writebacks = read_outbound(
        path, read_document(path), lambda value: _expand(value, env), ApplyError
    )
    channel = open_channel(
        settings.grpc_target("connect"),
        deadline_seconds=settings.grpc_deadline_seconds,
        tls=ops_identity(settings),  # the operator's certificate beside `weftwork up`
        server_name="connect",
    )
    try:
        stub = pb_grpc.ConnectServiceStub(channel)
        lines = await apply_sources(stub, sources)
        return lines + await apply_outbound(stub, endpoints, writebacks)
    except grpc.aio.AioRpcError as error:
        details = "; ".join(f"{v.field}: {v.description}" for v in field_violations(error))
        raise ApplyError(f"connect refused it: {error.details()} {details}".strip()) from None
    finally:
        await channel.close()
