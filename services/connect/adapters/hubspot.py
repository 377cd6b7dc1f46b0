"""HubSpot's CRM v3 API, read side: a deal with its associated company (private-app token).

GET /crm/v3/objects/deals/{id}?properties=…&associations=companies, then
GET /crm/v3/objects/companies/{id}?properties=…, Bearer token. 429 (HubSpot's rate limits)
and 5xx are Transient, honouring Retry-After; 404 and other 4xx are the receipt's exception.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.connect.domain.opportunity import Unmappable
from services.connect.handlers.ports import Deal, Transient

DEAL_PROPERTIES = (
    "dealname,amount,deal_currency_code,closedate,dealstage,pipeline,hs_object_id,"
    "legal_entity,billing_model,start_date,end_date,budget_hours"
)
COMPANY_PROPERTIES = "name,domain,country,tax_id,hs_object_id"
MAX_RETRY_AFTER = 3600.0


class HubSpotDeals:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def read_deal(self, base_url: str, token: str, deal_id: str) -> Deal:
        if not deal_id.isdigit():
            raise Unmappable("INVALID_FIELD", f"deal id {deal_id[:32]!r} is not a HubSpot id")
        base = base_url.rstrip("/")
        deal = await self._get(
            f"{base}/crm/v3/objects/deals/{deal_id}",
            token,
            {"properties": DEAL_PROPERTIES, "associations": "companies"},
        )
        results = ((deal.get("associations") or {}).get("companies") or {}).get("results") or []
        company_id = str(results[0]["id"]) if results and isinstance(results[0], dict) else ""
        company: dict[str, Any] = {}
        if company_id.isdigit():
            found = await self._get(
                f"{base}/crm/v3/objects/companies/{company_id}",
                token,
                {"properties": COMPANY_PROPERTIES},
            )
            company = found.get("properties") or {}
        return Deal(deal_id, deal.get("properties") or {}, company_id, company)

    async def _get(self, url: str, token: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self.client.get(
                url, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise Transient(f"HubSpot is unreachable: {exc!r}"[:300]) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise Transient(
                f"HubSpot answered {response.status_code}", retry_after=_retry_after(response)
            )
        if response.status_code == 404:
            raise Unmappable(
                "NOT_FOUND", f"HubSpot has no {url.rsplit('/', 2)[-2]} {url.rsplit('/', 1)[-1]}"
            )
        if response.status_code >= 400:
            raise Unmappable(
                "CRM_REFUSED", f"HubSpot answered {response.status_code}: {response.text[:200]}"
            )
        try:
            body = response.json()
        except ValueError:
            raise Transient("HubSpot answered something that is not JSON") from None
        if not isinstance(body, dict):
            raise Transient("HubSpot answered an unexpected shape")
        return body


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(raw)))
    except ValueError:
        return None
