"""Retention's rules: what may be pruned, when, and the settings that say so."""

from __future__ import annotations

import pytest

from mesh.retention import KEPT_FOR_GOOD, Rule, inbox_window_warning, rules
from mesh.retention_settings import WEEK, RetentionSettings
from mesh.retry import backoff_delay
from mesh.settings import SettingsError, load_settings


def test_defaults_keep_a_week_and_prune_every_five_minutes() -> None:
    settings = load_settings({})
    assert settings.retention == RetentionSettings(WEEK, WEEK, WEEK, 300.0, 1000)
    assert settings.retention.enabled


def test_settings_are_read_from_the_environment() -> None:
    retention = load_settings(
        {
            "WEFTWORK_RETENTION_OUTBOX_SECONDS": "3600",
            "WEFTWORK_RETENTION_INBOX_SECONDS": "120",
            "WEFTWORK_RETENTION_IDEMPOTENCY_SECONDS": "60",
            "WEFTWORK_PRUNE_INTERVAL_SECONDS": "0",
            "WEFTWORK_PRUNE_BATCH_ROWS": "50",
        }
    ).retention
    assert retention == RetentionSettings(3600.0, 120.0, 60.0, 0.0, 50)
    assert not retention.enabled


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEFTWORK_RETENTION_INBOX_SECONDS", "0"),
        ("WEFTWORK_RETENTION_OUTBOX_SECONDS", "soon"),
        ("WEFTWORK_PRUNE_INTERVAL_SECONDS", "-1"),
        ("WEFTWORK_PRUNE_BATCH_ROWS", "0"),
    ],
)
def test_bad_settings_fail_with_their_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_only_published_outbox_rows_are_pruned() -> None:
    [outbox] = [r for r in rules(RetentionSettings()) if r.table == "outbox"]
    assert "published_at IS NOT NULL" in outbox.statement()
    assert outbox.age_column == "published_at"


def test_each_kit_table_gets_its_own_window() -> None:
    windows = {r.table: r.window_seconds for r in rules(RetentionSettings(10.0, 20.0, 30.0))}
    assert windows == {"outbox": 10.0, "inbox": 20.0, "idempotent_requests": 30.0}


def test_timeline_audit_dead_letters_and_parked_events_are_never_pruned() -> None:
    assert not {r.table for r in rules(RetentionSettings())} & KEPT_FOR_GOOD
    assert {"lineage", "audit_log", "dead_letters", "parked_events"} <= KEPT_FOR_GOOD
    for table in KEPT_FOR_GOOD:
        with pytest.raises(ValueError, match="never pruned"):
            Rule(table, "created_at").statement()


def test_a_batch_is_bounded_and_skips_locked_rows() -> None:
    statement = Rule("inbox", "processed_at").statement()
    assert "LIMIT $2 FOR UPDATE SKIP LOCKED" in statement
    assert statement.startswith("DELETE FROM inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM inbox")


def test_an_inbox_window_shorter_than_the_duplicate_window_is_warned_about() -> None:
    short = inbox_window_warning(RetentionSettings(inbox_seconds=120.0), 600.0)
    assert short is not None and "applied twice" in short
    assert inbox_window_warning(RetentionSettings(inbox_seconds=600.0), 600.0) is None


def test_backoff_is_bounded_for_any_attempt() -> None:
    for attempt in (1, 2, 30, 1_100, 10**9):
        assert 0 <= backoff_delay(attempt, base=0.2, cap=10.0) <= 10.0
