"""amendEngagement (DESIGN.md §9): a new version of an engagement's terms."""

from __future__ import annotations

import uuid

from services.project.domain import amendments
from services.project.domain.amendments import Amendment, AmendmentDraft, EngagementAmended
from services.project.domain.model import Engagement
from services.project.handlers import Lock, ProjectRepository
from services.project.handlers.engagements import get_engagement


async def amend_engagement(
    repo: ProjectRepository, engagement_id: uuid.UUID, draft: AmendmentDraft
) -> tuple[Engagement, Amendment]:
    """Under the engagement's lock, as approvals take it: time is rated with one card or the
    other, never half of each. Every refusal is raised before anything is written."""
    engagement = await get_engagement(repo, engagement_id, lock=Lock.UPDATE)
    done = amendments.amend(engagement, draft)
    await repo.save_amendment(engagement, done)
    await repo.emit([EngagementAmended(engagement, done.terms)])
    return engagement, done
