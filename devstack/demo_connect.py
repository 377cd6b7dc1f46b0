"""The demo's webhook door: one Standard Webhooks source, and one signed `opportunity.won`
posted to it, so a new user sees a webhook arrive, become a receipt and then an engagement.

Idempotent: the source is created once (its secret is shown only then, so only the run that
creates it posts the sample webhook). The outbound endpoint and its local receiver are
devstack/demo_outbound.py.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
from standardwebhooks import Webhook

SOURCE = "demo-partner"
SOURCES = "{ inboundSources { name } }"
CREATE = """mutation($i: InboundSourceInput!) { createInboundSource(input: $i) { secret } }"""
MAPPING = {"currencies": ["USD", "GBP", "EUR"], "defaults": {"legalEntity": "US01"}}
SAMPLE = {
    "type": "opportunity.won",
    "data": {
        "source": SOURCE,
        "opportunityId": "DEMO-WEBHOOK-1",
        "account": {"externalId": "partner-acct-1", "name": "Webhook Demo Co", "country": "US"},
        "name": "Arrived by webhook",
        "legalEntity": "US01",
        "currency": "USD",
        "billingModel": "TIME_AND_MATERIALS",
        "startDate": "2026-11-02",
        "endDate": "2027-01-29",
        "rateCard": [{"role": "consultant", "billRate": "160", "costRate": "85"}],
    },
}


async def seed(url: str, token: str) -> list[str]:
    """Lines to print: what was set up, and how to post another webhook with curl."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:

        async def gql(query: str, **variables: object) -> dict[str, object]:
            body = (await client.post(url, json={"query": query, "variables": variables})).json()
            if body.get("errors"):
                raise RuntimeError(body["errors"][0].get("message"))
            data: dict[str, object] = body["data"]
            return data

        try:
            existing = await gql(SOURCES)
        except (RuntimeError, httpx.HTTPError) as exc:
            return [f"connect demo: skipped ({exc})"]
        names = {s["name"] for s in existing["inboundSources"]}  # type: ignore[attr-defined]
        if SOURCE in names:
            return [f"connect demo: source {SOURCE!r} exists (POST /hooks/{SOURCE})"]
        created = await gql(
            CREATE, i={"name": SOURCE, "kind": "STANDARD_WEBHOOKS", "mapping": MAPPING}
        )
        secret = str(created["createInboundSource"]["secret"])  # type: ignore[index]
        body = json.dumps(SAMPLE).encode()
        now = dt.datetime.now(dt.UTC)
        hook = f"{url.removesuffix('/graphql')}/hooks/{SOURCE}"
        answer = await client.post(
            hook,
            content=body,
            headers={
                "webhook-id": "msg_demo_1",
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(secret).sign("msg_demo_1", now, body),
                "content-type": "application/json",
            },
        )
    return [
        f"connect demo: source {SOURCE!r} at {hook}, signing secret (shown once): {secret}",
        f"connect demo: a signed opportunity.won was posted: HTTP {answer.status_code}"
        " (see `receipts` in GraphQL; README shows the curl)",
    ]
