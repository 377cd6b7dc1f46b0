"""Versions of an engagement's terms (DESIGN.md §9): rate cards by effective date, and each
amendment's terms as recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from mesh.money import Money

if TYPE_CHECKING:
    from services.project.domain.model import Milestone, RateCardLine


@dataclass(frozen=True)
class RateCard:
    """One version of the rate card; it rates time dated on or after `effective_date` until a
    later version takes over."""

    version: int
    effective_date: dt.date
    lines: tuple[RateCardLine, ...]


@dataclass(frozen=True)
class TermsVersion:
    """The terms an amendment put in force, what it was for and who asked."""

    version: int
    effective_date: dt.date
    reason: str
    actor: str  # the caller's JWT sub; empty when unknown
    contract_value: Money
    budget_hours: Decimal
    end_date: dt.date
    rate_card_version: int
    milestones: tuple[Milestone, ...]
    created_at: dt.datetime


def card_on(
    cards: Sequence[RateCard], day: dt.date, current: Sequence[RateCardLine]
) -> Sequence[RateCardLine]:
    """The lines in effect on `day`: of the cards effective by then, the latest version (a
    later amendment may be backdated before an earlier one). `current` when none is known
    (an engagement not yet stored has only its first card)."""
    effective = [c for c in cards if c.effective_date <= day]
    if not effective:
        return current
    return max(effective, key=lambda c: c.version).lines
