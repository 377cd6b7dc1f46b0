"""Inbound verification without I/O: HubSpot v3 as documented, Standard Webhooks by the
spec's library, Salesforce's organization allow-list and safe XML."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
from standardwebhooks import Webhook

from services.connect.domain import hubspot, salesforce, standard
from services.connect.domain.intake import Forbidden, RawHook, Unauthorized, Unreadable

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URI = "https://example.com/hooks/hubspot?portal=62515"
BODY = b'[{"eventId":1,"subscriptionType":"deal.propertyChange","objectId":123}]'
NOW_MS = 1_764_000_000_000


def hook(headers: dict[str, str], body: bytes = BODY) -> RawHook:
    return RawHook("hubspot", "POST", URI, {k.lower(): v for k, v in headers.items()}, body)


def documented_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's steps, written out independently of the implementation."""
    source = f"{method}{uri}{body.decode()}{timestamp}".encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def test_v3_signature_is_hmac_sha256_over_method_uri_body_timestamp() -> None:
    stamp = str(NOW_MS)
    expected = documented_v3(SECRET, "POST", URI, BODY, stamp)
    assert hubspot.sign_v3(SECRET, "POST", URI, BODY, stamp) == expected
    headers = {"X-HubSpot-Signature-v3": expected, "X-HubSpot-Request-Timestamp": stamp}
    hubspot.verify_v3(SECRET, hook(headers), URI, NOW_MS + 299_000)  # no exception


def test_v3_uri_has_hubspots_encoded_characters_decoded_before_signing() -> None:
    encoded = "https://example.com/hooks/hubspot?redirect=https%3A%2F%2Fa.example%2Fx%40y"
    decoded = "https://example.com/hooks/hubspot?redirect=https://a.example/x@y"
    assert hubspot.decode_uri(encoded) == decoded
    stamp = str(NOW_MS)
    assert hubspot.sign_v3(SECRET, "POST", encoded, BODY, stamp) == documented_v3(
        SECRET, "POST", decoded, BODY, stamp
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"body": BODY.replace(b"123", b"124")}, "a changed byte"),
        ({"timestamp": str(NOW_MS - 6 * 60 * 1000)}, "six minutes old"),
        ({"timestamp": f"{NOW_MS}.0"}, "a float timestamp"),
        ({"timestamp": "1.764e12"}, "an exponent"),
        ({"secret": "another-secret"}, "another app's secret"),
    ],
)
def test_v3_refuses(change: dict[str, str | bytes], why: str) -> None:
    stamp = str(change.get("timestamp", NOW_MS))
    secret = str(change.get("secret", SECRET))
    signature = hubspot.sign_v3(secret, "POST", URI, BODY, stamp)
    body = change.get("body", BODY)
    assert isinstance(body, bytes)
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp}
    with pytest.raises(Unauthorized):
        hubspot.verify_v3(SECRET, hook(headers, body), URI, NOW_MS)


def test_hubspot_batches_and_workflow_payloads_become_events() -> None:
    events = hubspot.events_of(b'[{"eventId":7,"objectId":42},{"eventId":8,"objectId":42}]')
    assert [(e.event_id, e.external_id) for e in events] == [("7", "42"), ("8", "42")]
    [workflow] = hubspot.events_of(b'{"objectId": 99, "properties": {"dealname": {"value": "x"}}}')
    assert workflow.external_id == "99" and workflow.event_id.startswith("workflow:")
    for bad in (b"[]", b'[{"objectId": 1}]', b'"text"', b"{nope"):
        with pytest.raises(Unreadable):
            hubspot.events_of(bad)


def test_standard_webhooks_verify_with_the_spec_library() -> None:
    secret = standard.new_secret()
    assert secret.startswith("whsec_")
    body = b'{"type":"opportunity.won","data":{"opportunityId":"O-1"}}'
    now = dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign("msg_1", now, body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    ok = RawHook("partner", "POST", "http://x/hooks/partner", headers, body)
    standard.verify(secret, ok)
    [event] = standard.events_of(ok)
    assert (event.event_id, event.external_id) == ("msg_1", "O-1")
    with pytest.raises(Unauthorized):
        standard.verify(secret, RawHook("p", "POST", "u", headers, body + b" "))
    with pytest.raises(Unauthorized):
        standard.verify(standard.new_secret(), ok)


def test_salesforce_org_ids_compare_on_their_15_character_form() -> None:
    assert salesforce.org_allowed("00D5e000000KQ2eEAG", ["00D5e000000KQ2e"])
    assert not salesforce.org_allowed("00D5e000000KQ2eEAG", ["00D5e000000KQ2E"])
    with pytest.raises(Unreadable):
        salesforce.events_of(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', ["00D5e000000KQ2e"])
    envelope = (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
        b'<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        b"<OrganizationId>00D000000000001AAA</OrganizationId></notifications></e:Body></e:Envelope>"
    )
    with pytest.raises(Forbidden):
        salesforce.events_of(envelope, ["00D5e000000KQ2e"])


def test_without_a_secret_key_every_use_of_a_secret_fails_loudly() -> None:
    from services.connect.adapters.secrets import FernetBox, SecretKeyMissing, generate_key

    box = FernetBox(None)  # connect still starts: health, stored receipts
    with pytest.raises(SecretKeyMissing, match="WEFTWORK_CONNECT_SECRET_KEY"):
        box.seal("client-secret")
    sealed = FernetBox(generate_key()).seal("client-secret")
    assert b"client-secret" not in sealed
    with pytest.raises(SecretKeyMissing, match="replaced"):
        FernetBox(generate_key()).open(sealed)
