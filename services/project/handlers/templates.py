"""Engagement templates (DESIGN.md §9): kept by admins, named by close-won requests."""

from __future__ import annotations

from mesh.errors import InvalidArgument
from services.project.domain.templates import EngagementTemplate
from services.project.handlers import ProjectRepository


async def upsert_template(
    repo: ProjectRepository, template: EngagementTemplate
) -> EngagementTemplate:
    await repo.save_template(template)
    return template


async def list_templates(repo: ProjectRepository) -> list[EngagementTemplate]:
    return await repo.templates()


async def template_for_deal(repo: ProjectRepository, code: str) -> EngagementTemplate:
    """The template a close-won names; an unknown code is the request's mistake."""
    found = await repo.templates([code])
    if not found:
        raise InvalidArgument.one("template_code", f"no engagement template {code[:40]!r}")
    return found[0]
