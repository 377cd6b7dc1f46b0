"""Engagement templates over gRPC: request -> use case -> response."""

from __future__ import annotations

from typing import Any

from services.project.convert.templates import template_draft, template_to_proto
from services.project.domain.templates import check_template
from services.project.handlers import Transact
from services.project.handlers.templates import list_templates, upsert_template
from weftwork.project.v1 import project_service_pb2 as pb


class TemplateApi:
    transact: Transact
    read: Transact

    async def UpsertEngagementTemplate(
        self, request: pb.UpsertEngagementTemplateRequest, context: Any
    ) -> pb.UpsertEngagementTemplateResponse:
        template = check_template(template_draft(request))
        saved = await self.transact(lambda r: upsert_template(r, template))
        return pb.UpsertEngagementTemplateResponse(template=template_to_proto(saved))

    async def ListEngagementTemplates(
        self, request: pb.ListEngagementTemplatesRequest, context: Any
    ) -> pb.ListEngagementTemplatesResponse:
        found = await self.read(list_templates)
        return pb.ListEngagementTemplatesResponse(templates=[template_to_proto(t) for t in found])
