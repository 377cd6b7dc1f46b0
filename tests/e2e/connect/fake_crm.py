"""Local stand-ins for the CRMs' APIs, answering as their documentation shows, on port 0.

HubSpot CRM v3: GET /crm/v3/objects/deals/{id}?properties=…&associations=companies and
GET /crm/v3/objects/companies/{id}?properties=…, Bearer private-app token; a rate-limited
request is 429 with HubSpot's error body and Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import eventually


@dataclass
class FakeHubSpot:
    token: str
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> properties + company
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate_limit_next: int = 0  # answer this many requests with 429 first
    requests: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/crm/v3/objects/deals/{id}", self.deal),
                Route("/crm/v3/objects/companies/{id}", self.company),
            ]
        )

    def _refused(self, request: Request) -> JSONResponse | None:
        self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                },
                status_code=401,
            )
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return JSONResponse(
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "SECONDLY",
                },
                status_code=429,
                headers={"Retry-After": "1"},
            )
        return None

    async def deal(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        deal_id = request.path_params["id"]
        found = self.deals.get(deal_id)
        if found is None:
            return JSONResponse(
                {"status": "error", "category": "OBJECT_NOT_FOUND"}, status_code=404
            )
        wanted = set(request.query_params.get("properties", "").split(","))
        properties = {k: v for k, v in found["properties"].items() if k in wanted}
        body: dict[str, Any] = {
            "id": deal_id,
            "properties": {**properties, "hs_object_id": deal_id},
            "createdAt": "2026-11-01T10:00:00.000Z",
            "updatedAt": "2026-11-30T17:00:00.000Z",
            "archived": False,
        }
        if "companies" in request.query_params.get("associations", "") and found.get("company"):
            body["associations"] = {
                "companies": {"results": [{"id": found["company"], "type": "deal_to_company"}]}
            }
        return JSONResponse(body)

    async def company(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        company_id = request.path_params["id"]
        found = self.companies.get(company_id)
        if found is None:
            return JSONResponse(
                {"status": "error", "category": "OBJECT_NOT_FOUND"}, status_code=404
            )
        return JSONResponse(
            {
                "id": company_id,
                "properties": {**found, "hs_object_id": company_id},
                "archived": False,
            }
        )


@contextlib.asynccontextmanager
async def serving_app(app: Starlette) -> AsyncIterator[str]:
    """The app on 127.0.0.1, a socket bound to port 0; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, result=server.started), what="fake CRM started")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
