"""GET /exports/journal/{entity}/{period}.csv: the journal export as a file, for an ERP's
import (docs/finance.md). The same bearer token, roles, scope and errors as journalExport."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.auth import TokenVerifier
from gateway.clients import ServiceClients
from gateway.errors import GatewayError
from gateway.revenue.journal import export_csv, fetch_export
from mesh.settings import Settings

# extensions.code -> HTTP status; anything else (a bug, a service down) as the code says.
STATUS = {
    "BAD_USER_INPUT": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "UNAVAILABLE": 503,
}


def journal_csv_endpoint(
    settings: Settings, clients: ServiceClients, verifier: TokenVerifier
) -> Callable[[Request], Awaitable[Response]]:
    async def journal_csv(request: Request) -> Response:
        entity = request.path_params["entity"]
        period = request.path_params["period"]
        try:
            principal = verifier.verify(request.headers.get("authorization"))
            found = await fetch_export(principal, settings, clients, entity, period)
        except GatewayError as error:
            status = STATUS.get(error.extensions["code"], 500)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            body = {"errors": [{"message": str(error), "extensions": error.extensions}]}
            return JSONResponse(body, status_code=status, headers=headers)
        provisional = "true" if found.provisional else "false"
        return Response(
            export_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="journal-{found.legal_entity}-{found.period}.csv"'
                ),
                "X-Weftwork-Provisional": provisional,
                "Cache-Control": "no-store",
            },
        )

    return journal_csv
