"""The approval gate's rules (DESIGN.md §9) and its setting, without I/O."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from mesh.errors import FailedPrecondition
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES, dump_legal_entities
from mesh.money import Money
from mesh.settings import SettingsError, load_settings
from services.project.domain.model import EngagementStatus, Milestone
from tests.unit.test_project_time import engagement


def test_a_pending_engagement_takes_nothing_until_approved() -> None:
    e = engagement(status=EngagementStatus.PENDING_APPROVAL)
    m = Milestone(uuid.uuid4(), e.id, "Go-live", Money.of(100, "USD"), e.end_date)
    e.milestones = [m]
    refusals: list[Callable[[], object]] = [
        lambda: e.require_active("time"),
        lambda: e.assign("p-1", "Dev", Decimal(8)),
        lambda: e.complete_milestone(m.id, e.start_date),
        lambda: e.complete(e.start_date),
    ]
    for refuse in refusals:
        with pytest.raises(FailedPrecondition, match=r"PENDING_APPROVAL .* until approved"):
            refuse()
    assert (e.status, e.version, e.assignments) == (EngagementStatus.PENDING_APPROVAL, 1, [])


def test_approval_activates_once_and_a_repeat_is_a_retry() -> None:
    e = engagement(status=EngagementStatus.PENDING_APPROVAL)
    assert e.approve() is True
    assert (e.status, e.version) == (EngagementStatus.ACTIVE, 2)
    assert e.approve() is False
    assert e.version == 2
    e.require_active("time")  # now it takes time


def test_a_completed_engagement_cannot_be_approved() -> None:
    e = engagement()
    e.complete(dt.date(2025, 3, 10))
    with pytest.raises(FailedPrecondition, match="COMPLETED"):
        e.approve()


def test_the_approval_gate_is_part_of_the_legal_entity_setting() -> None:
    base = {"WEFTWORK_DATABASE_URL": "postgresql://x@/y", "WEFTWORK_NATS_URL": "nats://n:4222"}
    assert not any(e.approval_required for e in load_settings(base).legal_entities.values())
    text = dump_legal_entities(
        {"DE01": replace(DEFAULT_LEGAL_ENTITIES["DE01"], approval_required=True)}
    )
    gated = load_settings({**base, "WEFTWORK_LEGAL_ENTITIES": text})
    assert gated.legal_entities["DE01"].approval_required
    # The retired variable is refused, never silently ignored.
    with pytest.raises(SettingsError, match=r"^WEFTWORK_APPROVAL_REQUIRED_ENTITIES is retired"):
        load_settings({**base, "WEFTWORK_APPROVAL_REQUIRED_ENTITIES": "DE01"})
