"""What the project service tells the others: its domain events, one union for the outbox."""

from __future__ import annotations

from services.project.domain.amendments import EngagementAmended
from services.project.domain.corrections import TimeAdjusted
from services.project.domain.expenses import ExpenseApproved
from services.project.domain.model import (
    EngagementActivated,
    EngagementCompleted,
    MilestoneCompleted,
)
from services.project.domain.purchase_orders import PurchaseOrderNumberSet
from services.project.domain.time import TimeApproved

ProjectEvent = (
    EngagementActivated
    | EngagementCompleted
    | MilestoneCompleted
    | TimeApproved
    | ExpenseApproved
    | TimeAdjusted
    | EngagementAmended
    | PurchaseOrderNumberSet
)
