"""GET /invoices/{id}.pdf and /invoices/{id}/credit-note.pdf: the documents, behind the same
bearer token as GraphQL and scoped exactly like `invoice(id)` (an invoice outside the caller's
legal entities is 404, in the same words as a missing one)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.auth import TokenVerifier
from gateway.clients import ServiceClients
from gateway.documents.render import Parties, credit_note_view, invoice_view, render_pdf
from gateway.errors import Conflict, GatewayError, NotFound
from gateway.loaders import Loaders
from mesh.legal_entities import LegalEntitySetting
from mesh.settings import Settings
from weftwork.billing.v1 import billing_service_pb2 as billing_pb

_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "BAD_USER_INPUT": 400,
    "UNAVAILABLE": 503,
}
RENDERS_AT_ONCE = 2  # Typst keeps a core busy for a moment; the event loop must stay free


def document_path(invoice: billing_pb.Invoice) -> str | None:
    """Where the invoice's document is served; None until it is issued (a DRAFT, or a draft
    voided before it got a number)."""
    return invoice_url(invoice.id) if invoice.number else None


def invoice_url(invoice_id: str) -> str:
    return f"/invoices/{invoice_id}.pdf"


def credit_note_url(invoice_id: str) -> str:
    return f"/invoices/{invoice_id}/credit-note.pdf"


class InvoiceDocuments:
    def __init__(
        self, settings: Settings, clients: ServiceClients, verifier: TokenVerifier
    ) -> None:
        self.clients = clients
        self.verifier = verifier
        self.entities = settings.legal_entities
        self.turns = asyncio.Semaphore(RENDERS_AT_ONCE)

    def routes(self) -> list[Route]:
        return [
            Route("/invoices/{id}.pdf", self.invoice, methods=["GET"]),
            Route("/invoices/{id}/credit-note.pdf", self.credit_note, methods=["GET"]),
        ]

    async def invoice(self, request: Request) -> Response:
        return await self._serve(request, credit=False)

    async def credit_note(self, request: Request) -> Response:
        return await self._serve(request, credit=True)

    async def _serve(self, request: Request, *, credit: bool) -> Response:
        try:
            number, pdf = await self._document(request, credit=credit)
        except GatewayError as error:
            status = _STATUS.get(error.extensions["code"], 500)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            body = {"errors": [{"message": str(error), "extensions": error.extensions}]}
            return JSONResponse(body, status_code=status, headers=headers)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="{number}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )

    async def _document(self, request: Request, *, credit: bool) -> tuple[str, bytes]:
        principal = self.verifier.verify(request.headers.get("authorization"))
        invoice_id = str(request.path_params["id"])
        loaders = Loaders(self.clients)
        found = await loaders.invoices.load(invoice_id) if _is_uuid(invoice_id) else None
        if found is None or not principal.sees(found.legal_entity):
            raise NotFound(f"invoice {invoice_id} not found")
        if not found.number:  # a DRAFT, or a draft voided before it was issued
            raise Conflict(f"invoice {invoice_id} was never issued: it has no document")
        if credit and not found.credit_note_number:
            raise NotFound(f"invoice {invoice_id} has no credit note")
        # An invoice issued with its bill-to needs nothing of the customer service.
        needs_customer = not found.HasField("bill_to")
        customer, engagement = await asyncio.gather(
            loaders.customers.load(found.customer_id) if needs_customer else _nothing(),
            loaders.engagements.load(found.engagement_id),
        )
        # An entity billing knows but this configuration does not: its code stands for it.
        entity = self.entities.get(found.legal_entity) or LegalEntitySetting(
            code=found.legal_entity,
            name="",
            country="",
            address=(),
            vat_id="",
            currencies=(found.currency,),
            vat_percent=Decimal(0),
            reverse_charge=False,
        )
        parties = Parties(
            entity,
            customer,
            engagement.code if engagement else "",
            engagement.name if engagement else "",
        )
        make: Callable[[billing_pb.Invoice, Parties], dict[str, Any]] = (
            credit_note_view if credit else invoice_view
        )
        view = make(found, parties)
        async with self.turns:
            pdf = await asyncio.to_thread(render_pdf, view)
        return (found.credit_note_number if credit else found.number), pdf


async def _nothing() -> None:
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
