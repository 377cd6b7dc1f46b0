"""Outbound rules without I/O: retry decisions, event-type subscriptions, target URLs, the
SSRF address guard, signatures a Standard Webhooks receiver verifies, write-back requests."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal

import httpcore
import pytest
from standardwebhooks import Webhook

from mesh.errors import Violations
from services.connect.adapters.http import RefusedAddress, checked_address
from services.connect.consumers.catalogue import EVENT_TYPES
from services.connect.domain.delivery import (
    Attempt,
    Delivery,
    DeliveryStatus,
    RetryPolicy,
    TargetKind,
    parse_retry_after,
    settle,
)
from services.connect.domain.webhooks import (
    WebhookEndpoint,
    check_event_types,
    check_url,
    is_public,
    type_matches,
)
from services.connect.domain.writeback import (
    EngagementStatus,
    apply_recognition,
    hubspot_batch_update,
    salesforce_update,
)
from services.connect.handlers.deliveries import webhook_request

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
PRODUCTION = RetryPolicy(window_seconds=108_000, base_seconds=5, cap_seconds=10_800)


def delivery(**extra: object) -> Delivery:
    fields: dict[str, object] = dict(
        id=uuid.uuid4(),
        target_kind=TargetKind.WEBHOOK,
        target_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        event_type="weftwork.billing.invoice.issued.v1",
        event_time=NOW,
        subject="inv-1",
        engagement_id="eng-1",
        order_key="eng-1",
        payload={"id": "x", "data": {"n": 1}},
        window_start=NOW,
    )
    fields.update(extra)
    return Delivery(**fields)  # type: ignore[arg-type]


def test_a_2xx_delivers_and_another_4xx_fails_at_once() -> None:
    d = delivery()
    assert settle(d, Attempt(204), PRODUCTION, NOW).status is DeliveryStatus.DELIVERED
    assert (d.attempts, d.delivered_at) == (1, NOW)
    for status in (400, 401, 403, 404, 410, 422):
        assert settle(delivery(), Attempt(status), PRODUCTION, NOW).status is DeliveryStatus.FAILED


@pytest.mark.parametrize("status", [0, 408, 425, 429, 500, 502, 503, 504, 301])
def test_timeouts_resets_5xx_and_throttling_are_retried(status: int) -> None:
    outcome = settle(delivery(), Attempt(status, "x"), PRODUCTION, NOW)
    assert outcome.status is DeliveryStatus.PENDING
    assert 0 <= outcome.retry_in <= 5


def test_retry_after_is_honoured_on_429_and_503_only() -> None:
    for status in (429, 503):
        outcome = settle(delivery(), Attempt(status, retry_after=120), PRODUCTION, NOW)
        assert outcome.retry_in == 120
    assert settle(delivery(), Attempt(500, retry_after=120), PRODUCTION, NOW).retry_in <= 5


def test_retries_go_on_for_at_least_24_hours_then_fail() -> None:
    d, now, attempts = delivery(), NOW, 0
    while d.status is DeliveryStatus.PENDING:
        outcome = settle(d, Attempt(500), PRODUCTION, now)
        attempts += 1
        now += dt.timedelta(seconds=outcome.retry_in)
    assert d.status is DeliveryStatus.FAILED
    assert now - NOW >= dt.timedelta(hours=24), (attempts, now - NOW)


def test_a_salesforce_rate_limit_is_transient_though_a_403() -> None:
    outcome = settle(delivery(), Attempt(403, transient=True), PRODUCTION, NOW)
    assert outcome.status is DeliveryStatus.PENDING


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("30", NOW) == 30
    assert parse_retry_after("Fri, 01 May 2026 12:01:00 GMT", NOW) == 60
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_endpoints_take_types_prefixes_and_entities() -> None:
    assert type_matches("weftwork.billing.*", "weftwork.billing.invoice.issued.v1")
    assert not type_matches("weftwork.billing.*", "weftwork.project.engagement.activated.v1")
    e = WebhookEndpoint(uuid.uuid4(), "https://x.example", ["weftwork.billing.*"], b"s",
                        legal_entities=["UK01"])  # fmt: skip
    assert e.takes("weftwork.billing.invoice.issued.v1", "UK01")
    assert not e.takes("weftwork.billing.invoice.issued.v1", "US01")
    assert not e.takes("weftwork.billing.invoice.issued.v1", "")
    e.enabled = False
    assert not e.takes("weftwork.billing.invoice.issued.v1", "UK01")


def test_event_types_must_be_ones_weftwork_sends() -> None:
    errors = Violations()
    check_event_types(
        ["weftwork.billing.*", "weftwork.billing.invoice.issued.v1", "weftwork.nope.*", "x"],
        EVENT_TYPES,
        errors,
        "event_types",
    )
    assert [v.field for v in errors.items] == ["event_types[2]", "event_types[3]"]


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://localhost/x",
        "https://user:pw@hooks.example.com/x",
        "ftp://hooks.example.com/x",
    ],
)
def test_production_refuses_insecure_targets(url: str) -> None:
    errors = Violations()
    check_url(url, allow_insecure=False, errors=errors, field_name="url")
    assert errors.items, url


def test_production_takes_https_names_and_development_takes_localhost() -> None:
    errors = Violations()
    check_url("https://hooks.example.com/x", allow_insecure=False, errors=errors, field_name="u")
    check_url("http://127.0.0.1:8010/x", allow_insecure=True, errors=errors, field_name="u")
    assert errors.items == []


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
     "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "100.64.0.1"],
)  # fmt: skip
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


def test_public_addresses() -> None:
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


async def test_the_guard_refuses_names_that_resolve_to_this_host() -> None:
    with pytest.raises(RefusedAddress):
        await checked_address("localhost", 443)
    with pytest.raises(RefusedAddress):
        await checked_address("127.0.0.1", 443)
    with pytest.raises(httpcore.ConnectError):
        await checked_address("no-such-host.invalid", 443)


def test_signatures_verify_with_the_standard_webhooks_library_for_both_secrets() -> None:
    new, old = "whsec_" + "A" * 43 + "=", "whsec_" + "B" * 43 + "="
    d = delivery()
    e = WebhookEndpoint(uuid.uuid4(), "https://x.example", ["weftwork.billing.*"], b"s")
    body, headers = webhook_request(e, d, [new, old], dt.datetime.now(dt.UTC))
    assert headers["webhook-id"] == str(d.event_id)
    for secret in (new, old):  # a receiver on either secret verifies during a rotation
        Webhook(secret).verify(body, headers, json_parse=False)


def test_write_back_requests_follow_the_vendors_shapes() -> None:
    s = EngagementStatus("e", code="PRJ-UK01-2026-0001", status="ACTIVE")
    s.invoiced, s.paid, s.recognized = Decimal("1200"), Decimal("0.5"), Decimal("9")
    names = {"code": "c", "paid": "p", "invoiced": "", "status": "s"}
    hubspot = hubspot_batch_update(
        "https://api.hubapi.com", {"42": s.record_fields(names, numbers=False)}
    )
    assert hubspot.method == "POST"
    assert hubspot.url == "https://api.hubapi.com/crm/v3/objects/deals/batch/update"
    assert hubspot.json == {"inputs": [{"id": "42", "properties": {
        "c": "PRJ-UK01-2026-0001", "s": "ACTIVE", "p": "0.50"}}]}  # fmt: skip
    sf = salesforce_update("https://acme.my.salesforce.com", "v60.0", "006x",
                           s.record_fields(names, numbers=True))  # fmt: skip
    assert (sf.method, sf.url) == (
        "PATCH",
        "https://acme.my.salesforce.com/services/data/v60.0/sobjects/Opportunity/006x",
    )
    assert sf.json == {"c": "PRJ-UK01-2026-0001", "s": "ACTIVE", "p": 0.5}


def test_an_older_recognition_never_overwrites_a_newer_one() -> None:
    s = EngagementStatus("e")
    assert apply_recognition(s, Decimal("900"), 3)
    assert not apply_recognition(s, Decimal("400"), 2)
    assert s.recognized == Decimal("900")


async def test_production_sender_refuses_this_host_before_any_byte_is_sent() -> None:
    from services.connect.adapters.http import HttpSender, client

    http = client(timeout=2, allow_insecure=False)
    try:
        attempt = await HttpSender(http).post_webhook("https://localhost:9/hook", b"{}", {})
        assert attempt.status == 0 and attempt.error.startswith("refused:"), attempt
        assert settle(delivery(), attempt, PRODUCTION, NOW).status is DeliveryStatus.PENDING
    finally:
        await http.aclose()
