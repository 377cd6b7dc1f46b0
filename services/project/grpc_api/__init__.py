"""The project service's gRPC edge: the thin servicer (one mixin per area) and the client of
the customer service it calls."""

from __future__ import annotations

from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES
from services.project.domain.model import LegalEntities
from services.project.grpc_api.amendments import AmendmentApi
from services.project.grpc_api.approvals import ApprovalApi
from services.project.grpc_api.corrections import CorrectionApi
from services.project.grpc_api.engagements import EngagementApi
from services.project.grpc_api.purchase_orders import PurchaseOrderApi
from services.project.grpc_api.templates import TemplateApi
from services.project.grpc_api.timesheets import TimesheetApi
from services.project.handlers import Transact
from services.project.handlers.engagements import CustomerResolver
from weftwork.project.v1 import project_service_pb2_grpc as pb_grpc


class ProjectServicer(
    EngagementApi,
    TimesheetApi,
    ApprovalApi,
    TemplateApi,
    CorrectionApi,
    AmendmentApi,
    PurchaseOrderApi,
    pb_grpc.ProjectServiceServicer,
):
    """Thin gRPC servicer: request -> use case (in one transaction) -> response."""

    def __init__(
        self,
        transact: Transact,
        customers: CustomerResolver,
        read: Transact,
        entities: LegalEntities = DEFAULT_LEGAL_ENTITIES,
    ) -> None:
        self.transact = transact
        self.customers = customers
        self.read = read
        self.entities = entities  # the configured legal entities (WEFTWORK_LEGAL_ENTITIES)
