"""Thin gRPC methods of outbound webhooks and CRM write-back, mixed into ConnectServicer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mesh.errors import InvalidArgument
from services.connect import convert
from services.connect.handlers import endpoints
from services.connect.handlers.endpoints import EndpointRules
from services.connect.handlers.ports import SecretBox, Transact
from weftwork.connect.v1 import connect_service_pb2 as pb


class OutboundApi:
    transact: Transact[Any]
    read: Transact[Any]
    box: SecretBox
    rules: EndpointRules

    async def CreateWebhookEndpoint(
        self, request: pb.CreateWebhookEndpointRequest, context: Any
    ) -> pb.CreateWebhookEndpointResponse:
        draft = endpoints.EndpointDraft(
            url=request.url,
            event_types=tuple(request.event_types),
            legal_entities=tuple(request.legal_entities),
            description=request.description,
        )
        endpoint, secret = await self.transact(
            lambda repo: endpoints.create_endpoint(repo, self.box, self.rules, draft)
        )
        return pb.CreateWebhookEndpointResponse(
            endpoint=convert.endpoint_to_proto(endpoint), secret=secret
        )

    async def UpdateWebhookEndpoint(
        self, request: pb.UpdateWebhookEndpointRequest, context: Any
    ) -> pb.UpdateWebhookEndpointResponse:
        r = request
        endpoint_id = convert.parse_endpoint_id(r.id)
        changes = endpoints.EndpointChanges(
            url=r.url if r.HasField("url") else None,
            event_types=tuple(r.event_types) if r.replace_event_types else None,
            legal_entities=tuple(r.legal_entities) if r.replace_legal_entities else None,
            description=r.description if r.HasField("description") else None,
            enabled=r.enabled if r.HasField("enabled") else None,
        )
        endpoint = await self.transact(
            lambda repo: endpoints.update_endpoint(repo, self.rules, endpoint_id, changes)
        )
        return pb.UpdateWebhookEndpointResponse(endpoint=convert.endpoint_to_proto(endpoint))

    async def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, context: Any
    ) -> pb.RotateWebhookSecretResponse:
        endpoint_id = convert.parse_endpoint_id(request.id)
        endpoint, secret = await self.transact(
            lambda repo: endpoints.rotate_secret(repo, self.box, self.rules, endpoint_id)
        )
        return pb.RotateWebhookSecretResponse(
            endpoint=convert.endpoint_to_proto(endpoint), secret=secret
        )

    async def DeleteWebhookEndpoint(
        self, request: pb.DeleteWebhookEndpointRequest, context: Any
    ) -> pb.DeleteWebhookEndpointResponse:
        endpoint_id = convert.parse_endpoint_id(request.id)
        deleted = await self.transact(lambda repo: endpoints.delete_endpoint(repo, endpoint_id))
        return pb.DeleteWebhookEndpointResponse(deleted=deleted)

    async def ListWebhookEndpoints(
        self, request: pb.ListWebhookEndpointsRequest, context: Any
    ) -> pb.ListWebhookEndpointsResponse:
        found = await self.read(lambda repo: repo.list_endpoints())
        return pb.ListWebhookEndpointsResponse(
            endpoints=[convert.endpoint_to_proto(e) for e in found]
        )

    async def ListWebhookDeliveries(
        self, request: pb.ListWebhookDeliveriesRequest, context: Any
    ) -> pb.ListWebhookDeliveriesResponse:
        endpoint_id = convert.parse_endpoint_id(request.endpoint_id, "endpoint_id")
        after = convert.decode_cursor(request.page_token)
        status = convert.DELIVERY_STATUSES_FROM.get(request.status)
        rows, cursor = await self.read(
            lambda repo: endpoints.list_deliveries(
                repo, endpoint_id, status=status, after=after, page_size=request.page_size
            )
        )
        return pb.ListWebhookDeliveriesResponse(
            deliveries=[convert.delivery_to_proto(d) for d in rows],
            next_page_token=convert.encode_cursor(cursor),
        )

    async def ReplayWebhookDeliveries(
        self, request: pb.ReplayWebhookDeliveriesRequest, context: Any
    ) -> pb.ReplayWebhookDeliveriesResponse:
        endpoint_id = convert.parse_endpoint_id(request.endpoint_id, "endpoint_id")
        if not request.HasField("since"):
            raise InvalidArgument.one("since", "replay FAILED deliveries created since when?")
        since = request.since.ToDatetime(tzinfo=dt.UTC)
        count = await self.transact(
            lambda repo: endpoints.replay_deliveries(repo, endpoint_id, since)
        )
        return pb.ReplayWebhookDeliveriesResponse(replayed=count)

    async def SetCrmWriteBack(
        self, request: pb.SetCrmWriteBackRequest, context: Any
    ) -> pb.SetCrmWriteBackResponse:
        draft = endpoints.WriteBackDraft(
            source=request.source,
            kind=convert.CRM_KINDS_FROM.get(request.kind),
            base_url=request.base_url,
            token=request.token,
            fields=dict(request.fields),
            api_version=request.api_version,
            enabled=not request.disabled,
        )
        writeback = await self.transact(lambda repo: endpoints.set_writeback(repo, self.box, draft))
        return pb.SetCrmWriteBackResponse(writeback=convert.writeback_to_proto(writeback))

    async def ListCrmWriteBacks(
        self, request: pb.ListCrmWriteBacksRequest, context: Any
    ) -> pb.ListCrmWriteBacksResponse:
        found = await self.read(lambda repo: repo.list_writebacks())
        return pb.ListCrmWriteBacksResponse(
            writebacks=[convert.writeback_to_proto(w) for w in found]
        )
