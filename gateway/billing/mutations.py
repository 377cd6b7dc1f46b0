"""Finance bills, issues, voids and collects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from gateway.common import date_input
from gateway.context import Info
from gateway.engagements.view import Invoice
from gateway.errors import NotFound, call
from gateway.numbers import money_input
from gateway.scope import engagements_in_scope, list_scope
from weftwork.billing.v1 import billing_service_pb2 as pb


async def _invoice_in_scope(info: Info, operation: str, invoice_id: str) -> pb.Invoice:
    info.context.principal.require(operation)
    found = await info.context.loaders.invoices.load(invoice_id)
    if found is None or not info.context.principal.sees(found.legal_entity):
        raise NotFound(f"invoice {invoice_id} not found")  # the same words when out of scope
    return found


@strawberry.type
class BillingMutations:
    @strawberry.mutation(description="Draft every unbilled item dated on or before the cutoff.")
    async def run_billing(
        self,
        info: Info,
        cutoff: dt.date,
        engagement_id: strawberry.ID | None = None,
        legal_entity: str | None = None,
    ) -> list[Invoice]:
        principal = info.context.principal
        principal.require("runBilling")
        if engagement_id:
            await engagements_in_scope(info.context, "runBilling", [str(engagement_id)])
        # A caller scoped to some entities bills those; one with "*" bills all in one call.
        entities = list_scope(principal, legal_entity) or [""]
        invoices: list[Invoice] = []
        for entity in entities:
            answer = await call(
                "billing",
                info.context.clients.billing.RunBilling(
                    pb.RunBillingRequest(
                        cutoff=date_input(cutoff),
                        engagement_id=str(engagement_id or ""),
                        legal_entity=entity,
                    )
                ),
            )
            invoices += [Invoice.from_proto(i) for i in answer.invoices]
        return invoices

    @strawberry.mutation
    async def issue_invoice(self, info: Info, id: strawberry.ID, issue_date: dt.date) -> Invoice:
        await _invoice_in_scope(info, "issueInvoice", str(id))
        answer = await call(
            "billing",
            info.context.clients.billing.IssueInvoice(
                pb.IssueInvoiceRequest(id=str(id), issue_date=date_input(issue_date))
            ),
        )
        return Invoice.from_proto(answer.invoice)

    @strawberry.mutation
    async def void_invoice(self, info: Info, id: strawberry.ID, reason: str) -> Invoice:
        await _invoice_in_scope(info, "voidInvoice", str(id))
        answer = await call(
            "billing",
            info.context.clients.billing.VoidInvoice(
                pb.VoidInvoiceRequest(id=str(id), reason=reason)
            ),
        )
        return Invoice.from_proto(answer.invoice)

    @strawberry.mutation
    async def record_payment(
        self,
        info: Info,
        invoice_id: strawberry.ID,
        amount: Decimal,
        received_on: dt.date,
        reference: str,
    ) -> Invoice:
        invoice = await _invoice_in_scope(info, "recordPayment", str(invoice_id))
        answer = await call(
            "billing",
            info.context.clients.billing.RecordPayment(
                pb.RecordPaymentRequest(
                    invoice_id=str(invoice_id),
                    amount=money_input(amount, invoice.currency, "amount"),
                    received_on=date_input(received_on),
                    reference=reference,
                )
            ),
        )
        return Invoice.from_proto(answer.invoice)
