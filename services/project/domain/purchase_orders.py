"""The customer's purchase-order number of an engagement (DESIGN.md §9): set at close-won,
amended later; invoices print the one current when they are issued."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.errors import Violations
from services.project.domain.model import Engagement, EngagementStatus
from services.project.domain.values import check_text

MAX_PURCHASE_ORDER_NUMBER = 64


def check_purchase_order_number(text: str, field: str, errors: Violations) -> str:
    """Trimmed; empty means none."""
    return check_text(text, field, errors, max_length=MAX_PURCHASE_ORDER_NUMBER, required=False)


@dataclass(frozen=True)
class PurchaseOrderNumberSet:
    engagement: Engagement


def set_purchase_order_number(engagement: Engagement, number: str) -> PurchaseOrderNumberSet | None:
    """The change, or None when the number is the same. A PENDING_APPROVAL engagement is not
    known to billing yet: its engagement.activated will carry the number, so no event."""
    if engagement.purchase_order_number == number:
        return None
    engagement.purchase_order_number = number
    engagement.touch()
    if engagement.status is EngagementStatus.PENDING_APPROVAL:
        return None
    return PurchaseOrderNumberSet(engagement)
