"""setPurchaseOrderNumber (DESIGN.md §9): finance or an admin amends the customer's PO."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.engagements.view import Engagement
from gateway.errors import call
from gateway.scope import engagements_in_scope
from weftwork.project.v1 import project_service_pb2 as pb


@strawberry.type
class PurchaseOrderMutations:
    @strawberry.mutation(
        description="Sets the customer's purchase-order number of an engagement (an empty "
        "string clears it); invoices issued from now on print it (finance, admin)."
    )
    async def set_purchase_order_number(
        self, info: Info, engagement_id: strawberry.ID, purchase_order_number: str
    ) -> Engagement:
        await engagements_in_scope(info.context, "setPurchaseOrderNumber", [str(engagement_id)])
        answer = await call(
            "project",
            info.context.clients.project.SetPurchaseOrderNumber(
                pb.SetPurchaseOrderNumberRequest(
                    engagement_id=str(engagement_id), purchase_order_number=purchase_order_number
                )
            ),
        )
        return Engagement.from_proto(answer.engagement)
