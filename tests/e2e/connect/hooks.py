"""Signing requests as each kind of sender does, and the GraphQL the connect tests share."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from standardwebhooks import Webhook

CREATE_SOURCE = """mutation($i: InboundSourceInput!) {
  createInboundSource(input: $i) { secret source { name kind hookPath mapping } }
}"""
UPDATE_SOURCE = """mutation($n: String!, $i: InboundSourceUpdate!) {
  updateInboundSource(name: $n, input: $i) { name version mapping }
}"""
RECEIPTS = """query($s: String) {
  receipts(first: 100, source: $s) {
    edges { node {
      id eventId externalId status attempts lastError customerMatchedBy exceptionId
      engagement { id code opportunity { system externalId } customer { name } }
    } }
  }
}"""
EXCEPTIONS = """query($s: String, $st: ExceptionStatus) {
  integrationExceptions(first: 100, source: $s, status: $st) {
    edges { node { id status reason externalId retries engagement { id code } } }
  }
}"""
RETRY = """mutation($id: ID!) { retryIntegrationException(id: $id) { id status retries } }"""
DISMISS = """mutation($id: ID!, $r: String!) {
  dismissIntegrationException(id: $id, reason: $r) { id status dismissReason }
}"""
BY_OPPORTUNITY = """query($s: String!, $o: String!) {
  engagementByOpportunity(source: $s, opportunityId: $o) { id code currency customer { name } }
}"""


def won_data(opportunity: str, *, currency: str = "USD", **extra: Any) -> dict[str, Any]:
    """OpportunityWonInput as in GraphQL."""
    return {
        "source": "ignored-the-source-name-wins",
        "opportunityId": opportunity,
        "account": {
            "externalId": f"acct-{opportunity}",
            "name": f"Client {opportunity} Inc",
            "domain": f"{opportunity.lower()}.example.com",
            "country": "US",
        },
        "name": f"Engagement {opportunity}",
        "legalEntity": "US01",
        "currency": currency,
        "billingModel": "TIME_AND_MATERIALS",
        "startDate": "2026-01-05",
        "endDate": "2026-06-30",
        "rateCard": [{"role": "consultant", "billRate": "150.00", "costRate": "90"}],
        **extra,
    }


def standard_body(data: dict[str, Any], kind: str = "opportunity.won") -> bytes:
    return json.dumps({"type": kind, "data": data}).encode()


def standard_headers(
    secret: str, body: bytes, *, webhook_id: str | None = None, at: dt.datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed by the spec's own library."""
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    at = at or dt.datetime.now(dt.UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "content-type": "application/json",
    }


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]
