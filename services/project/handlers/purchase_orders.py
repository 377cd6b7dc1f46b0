"""Amending an engagement's purchase-order number (DESIGN.md §9)."""

from __future__ import annotations

import uuid

from mesh.errors import Violations
from services.project.domain.model import Engagement
from services.project.domain.purchase_orders import (
    check_purchase_order_number,
    set_purchase_order_number,
)
from services.project.handlers import Lock, ProjectRepository
from services.project.handlers.engagements import get_engagement


async def amend_purchase_order_number(
    repo: ProjectRepository, engagement_id: uuid.UUID, text: str
) -> Engagement:
    """The same number again changes nothing (no new version, no event)."""
    errors = Violations()
    number = check_purchase_order_number(text, "purchase_order_number", errors)
    errors.raise_if_any()
    engagement = await get_engagement(repo, engagement_id, lock=Lock.UPDATE)
    before = engagement.version
    event = set_purchase_order_number(engagement, number)
    if engagement.version != before:
        await repo.save_purchase_order_number(engagement)
    if event is not None:
        await repo.emit([event])
    return engagement
