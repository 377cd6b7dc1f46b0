"""The local NATS users grant exactly what k8s/base/nats/accounts.conf grants in production."""

from __future__ import annotations

import re
from pathlib import Path

from devstack.nats_users import CONSUMES, USERS, publish_rights, subscribe_rights

ACCOUNTS = Path(__file__).resolve().parents[2] / "k8s" / "base" / "nats" / "accounts.conf"


def production_rights() -> dict[str, tuple[set[str], set[str]]]:
    """user → (publish allow, subscribe allow), read from the manifest."""
    rights = {}
    for block in re.split(r"\n\s*user: ", ACCOUNTS.read_text())[1:]:
        user = block.split(None, 1)[0]
        publish, _, subscribe = block.partition("subscribe:")
        quoted = re.compile(r'"([^"]+)"')
        rights[user] = (set(quoted.findall(publish)), set(quoted.findall(subscribe.split("}")[0])))
    return rights


def test_every_production_user_has_the_same_rights_locally() -> None:
    production = production_rights()
    assert set(production) == {"customer", "project", "billing", "revenue", "connect", "gateway"}
    for user, (publish, subscribe) in production.items():
        assert set(publish_rights(user)) == publish, user
        assert set(subscribe_rights(user)) == subscribe, user


def test_connect_publishes_its_own_events_and_consumes_what_design_lists() -> None:
    rights = publish_rights("connect")
    assert "weftwork.connect.>" in rights
    assert not [r for r in rights if r.startswith("weftwork.") and r != "weftwork.connect.>"]
    assert set(CONSUMES["connect"]) == {"project", "billing", "revenue", "customer"}
    assert {f"$JS.ACK.{s.upper()}.>" for s in CONSUMES["connect"]} <= set(rights)


def test_only_the_operator_may_publish_anything_and_nobody_is_anonymous() -> None:
    assert [u for u in USERS if ">" in publish_rights(u)] == ["ops"]
    assert "" not in USERS
