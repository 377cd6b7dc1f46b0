"""WEFTWORK_NATS_URL may list a cluster's servers, comma-separated (devstack/nats_cluster.py)."""

from __future__ import annotations

from devstack.nats_users import password, user_url
from mesh.events.nats import redacted
from mesh.settings import load_settings, server_urls

CLUSTER = "nats://ops:s3cret@127.0.0.1:4301, nats://ops:s3cret@127.0.0.1:4302,nats://ops:s3cret@127.0.0.1:4303"


def test_a_list_gives_each_server_and_one_url_gives_itself() -> None:
    assert server_urls(CLUSTER) == [
        f"nats://ops:s3cret@127.0.0.1:{port}" for port in (4301, 4302, 4303)
    ]
    assert server_urls("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]
    settings = load_settings({"WEFTWORK_NATS_URL": CLUSTER})
    assert len(server_urls(settings.nats_url)) == 3 and not settings.embedded_nats


def test_a_user_gets_its_own_credentials_on_every_server() -> None:
    own = server_urls(user_url(CLUSTER, "billing"))
    secret = password("s3cret", "billing")
    assert own == [f"nats://billing:{secret}@127.0.0.1:{port}" for port in (4301, 4302, 4303)]


def test_no_password_of_the_list_reaches_a_log() -> None:
    assert "s3cret" not in redacted(CLUSTER)
    assert redacted(CLUSTER).count("ops:***@") == 3
