"""`weftwork connect apply FILE`, outbound half: `endpoints:` (keyed by URL) and `writebacks:`
(keyed by inbound source). Endpoints are created when no endpoint has the URL yet (the new
secret is printed once) and updated otherwise; write-back is set as written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from weftwork.connect.v1 import connect_service_pb2 as pb
from weftwork.connect.v1 import connect_service_pb2_grpc as pb_grpc

ENDPOINT_KEYS = {"url", "eventTypes", "legalEntities", "description", "enabled"}
WRITEBACK_KEYS = {"source", "kind", "baseUrl", "token", "fields", "apiVersion", "enabled"}


def read_outbound(
    path: Path,
    document: Mapping[str, Any],
    expand: Callable[[str], str],
    error: Callable[[str], Exception],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The file's `endpoints:` and `writebacks:`, checked for shape (connect checks the rest);
    `${NAME}` in a token comes from the environment."""
    endpoints = _list(path, document, "endpoints", error)
    for i, raw in enumerate(endpoints):
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise error(f"{path}: endpoints[{i}] needs a url")
        if extra := set(raw) - ENDPOINT_KEYS:
            raise error(f"{path}: endpoints[{i}]: unknown keys {sorted(extra)}")
    writebacks = _list(path, document, "writebacks", error)
    for i, raw in enumerate(writebacks):
        if not isinstance(raw, dict) or not isinstance(raw.get("source"), str):
            raise error(f"{path}: writebacks[{i}] needs the source it writes back for")
        if extra := set(raw) - WRITEBACK_KEYS:
            raise error(f"{path}: writebacks[{i}]: unknown keys {sorted(extra)}")
        if isinstance(raw.get("token"), str):
            raw["token"] = expand(raw["token"])
    return endpoints, writebacks


def _list(
    path: Path, document: Mapping[str, Any], key: str, error: Callable[[str], Exception]
) -> list[Any]:
    found = document.get(key, [])
    if not isinstance(found, list):
        raise error(f"{path}: `{key}:` must be a list")
    return found


async def apply_outbound(
    stub: pb_grpc.ConnectServiceStub,
    endpoints: list[dict[str, Any]],
    writebacks: list[dict[str, Any]],
) -> list[str]:
    lines = []
    if endpoints:
        listed = await stub.ListWebhookEndpoints(pb.ListWebhookEndpointsRequest())
        existing = {e.url: e.id for e in listed.endpoints}
        for raw in endpoints:
            lines.append(await _apply_endpoint(stub, raw, existing.get(raw["url"])))
    for raw in writebacks:
        kind = str(raw.get("kind", "")).upper()
        await stub.SetCrmWriteBack(
            pb.SetCrmWriteBackRequest(
                source=raw["source"],
                kind=pb.CrmKind.Value(f"CRM_KIND_{kind}")
                if kind in {"HUBSPOT", "SALESFORCE"}
                else pb.CRM_KIND_UNSPECIFIED,
                base_url=str(raw.get("baseUrl", "")),
                token=str(raw.get("token", "")),
                fields={str(k): str(v) for k, v in (raw.get("fields") or {}).items()},
                api_version=str(raw.get("apiVersion", "")),
                disabled=not raw.get("enabled", True),
            )
        )
        lines.append(f"write-back for {raw['source']} set ({kind})")
    return lines


async def _apply_endpoint(
    stub: pb_grpc.ConnectServiceStub, raw: dict[str, Any], endpoint_id: str | None
) -> str:
    types = [str(t) for t in raw.get("eventTypes", [])]
    entities = [str(e) for e in raw.get("legalEntities", [])]
    if endpoint_id is None:
        created = await stub.CreateWebhookEndpoint(
            pb.CreateWebhookEndpointRequest(
                url=raw["url"],
                event_types=types,
                legal_entities=entities,
                description=str(raw.get("description", "")),
            )
        )
        if raw.get("enabled") is False:
            await stub.UpdateWebhookEndpoint(
                pb.UpdateWebhookEndpointRequest(id=created.endpoint.id, enabled=False)
            )
        return f"created endpoint {raw['url']} (signing secret, shown once: {created.secret})"
    request = pb.UpdateWebhookEndpointRequest(id=endpoint_id)
    if "eventTypes" in raw:
        request.event_types.extend(types)
        request.replace_event_types = True
    if "legalEntities" in raw:
        request.legal_entities.extend(entities)
        request.replace_legal_entities = True
    if "description" in raw:
        request.description = str(raw["description"])
    if "enabled" in raw:
        request.enabled = bool(raw["enabled"])
    await stub.UpdateWebhookEndpoint(request)
    return f"updated endpoint {raw['url']}"
