"""SetPurchaseOrderNumber over gRPC: request -> use case -> response."""

from __future__ import annotations

from typing import Any

from mesh.requests import parse_id
from services.project.convert.responses import engagement_to_proto
from services.project.handlers import Transact
from services.project.handlers.purchase_orders import amend_purchase_order_number
from weftwork.project.v1 import project_service_pb2 as pb


class PurchaseOrderApi:
    transact: Transact

    async def SetPurchaseOrderNumber(
        self, request: pb.SetPurchaseOrderNumberRequest, context: Any
    ) -> pb.SetPurchaseOrderNumberResponse:
        engagement_id = parse_id(request.engagement_id, "engagement_id")
        number = request.purchase_order_number
        changed = await self.transact(
            lambda r: amend_purchase_order_number(r, engagement_id, number)
        )
        return pb.SetPurchaseOrderNumberResponse(engagement=engagement_to_proto(changed))
