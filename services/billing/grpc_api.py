"""Thin gRPC servicer: proto -> use case (in one transaction) -> proto."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from mesh.errors import InvalidArgument
from mesh.grpc.convert import money_to_proto
from mesh.idempotency import once
from mesh.paging import decode_token, encode_token
from mesh.requests import parse_date
from services.billing.convert import responses as convert
from services.billing.convert.requests import parse_id, parse_ids, parse_money
from services.billing.handlers import (
    BillingRepository,
    InvoiceFilter,
    LegalEntities,
    Transact,
    invoicing,
)
from services.billing.handlers import reads as queries
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.billing.v1 import billing_service_pb2_grpc as pb_grpc


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class BillingServicer(pb_grpc.BillingServiceServicer):
    def __init__(
        self,
        transact: Transact[Any],
        read: Transact[Any],
        entities: LegalEntities,
        today: Callable[[], dt.date] = _today,
    ) -> None:
        self.transact = transact
        self.read = read  # one snapshot, so an invoice's totals and lines always agree
        self.entities = entities
        self.today = today

    async def RunBilling(
        self, request: pb.RunBillingRequest, context: Any
    ) -> pb.RunBillingResponse:
        cutoff = parse_date(request.cutoff, "cutoff")
        engagement_id = (
            parse_id(request.engagement_id, "engagement_id", "engagement")
            if request.engagement_id
            else None
        )

        async def work(repo: BillingRepository) -> pb.RunBillingResponse:
            drafts = await invoicing.run_billing(
                repo,
                self.entities,
                cutoff=cutoff,
                engagement_id=engagement_id,
                legal_entity=request.legal_entity or None,
            )
            return pb.RunBillingResponse(invoices=[convert.invoice_to_proto(d) for d in drafts])

        return await once(self.transact, request, pb.RunBillingResponse, work)

    async def IssueInvoice(
        self, request: pb.IssueInvoiceRequest, context: Any
    ) -> pb.IssueInvoiceResponse:
        invoice_id = parse_id(request.id, "id")
        issue_date = parse_date(request.issue_date, "issue_date")

        async def work(repo: BillingRepository) -> pb.IssueInvoiceResponse:
            issued = await invoicing.issue_invoice(repo, self.entities, invoice_id, issue_date)
            return pb.IssueInvoiceResponse(invoice=convert.invoice_to_proto(issued))

        return await once(self.transact, request, pb.IssueInvoiceResponse, work)

    async def VoidInvoice(
        self, request: pb.VoidInvoiceRequest, context: Any
    ) -> pb.VoidInvoiceResponse:
        invoice_id = parse_id(request.id, "id")

        async def work(repo: BillingRepository) -> pb.VoidInvoiceResponse:
            voided = await invoicing.void_invoice(repo, invoice_id, request.reason, self.today())
            return pb.VoidInvoiceResponse(invoice=convert.invoice_to_proto(voided))

        return await once(self.transact, request, pb.VoidInvoiceResponse, work)

    async def RecordPayment(
        self, request: pb.RecordPaymentRequest, context: Any
    ) -> pb.RecordPaymentResponse:
        invoice_id = parse_id(request.invoice_id, "invoice_id")
        amount = parse_money(request.amount, "amount")
        received_on = parse_date(request.received_on, "received_on")

        async def work(repo: BillingRepository) -> pb.RecordPaymentResponse:
            invoice, payment = await invoicing.record_payment(
                repo, invoice_id, amount, received_on, request.reference
            )
            return pb.RecordPaymentResponse(
                invoice=convert.invoice_to_proto(invoice),
                payment=convert.payment_to_proto(payment),
            )

        return await once(self.transact, request, pb.RecordPaymentResponse, work)

    async def GetInvoice(
        self, request: pb.GetInvoiceRequest, context: Any
    ) -> pb.GetInvoiceResponse:
        invoice_id = parse_id(request.id, "id")
        found = await self.read(lambda repo: queries.get_invoice(repo, invoice_id))
        return pb.GetInvoiceResponse(invoice=convert.invoice_to_proto(found))

    async def BatchGetInvoices(
        self, request: pb.BatchGetInvoicesRequest, context: Any
    ) -> pb.BatchGetInvoicesResponse:
        ids = parse_ids(list(request.ids), "ids")
        found, missing = await self.read(lambda repo: queries.batch_get_invoices(repo, ids))
        return pb.BatchGetInvoicesResponse(
            invoices=[convert.invoice_to_proto(i) for i in found],
            missing_ids=[str(i) for i in missing],
        )

    async def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: Any
    ) -> pb.ListInvoicesResponse:
        if request.status and request.status not in convert.STATUS_FROM_PROTO:
            raise InvalidArgument.one("status", f"{request.status} is not an invoice status")
        where = InvoiceFilter(
            status=convert.STATUS_FROM_PROTO.get(request.status),
            legal_entity=request.legal_entity or None,
            legal_entities=tuple(request.legal_entities),
            engagement_id=parse_id(request.engagement_id, "engagement_id", "engagement")
            if request.engagement_id
            else None,
        )
        after = decode_token("invoices", request.page_token, (dt.date.fromisoformat, uuid.UUID))
        rows, cursor = await self.read(
            lambda repo: queries.list_invoices(
                repo, page_size=request.page_size, after=after, where=where
            )
        )
        return pb.ListInvoicesResponse(
            invoices=[convert.invoice_to_proto(i) for i in rows],
            next_page_token=encode_token("invoices", cursor),
        )

    async def BatchGetInvoicesByEngagement(
        self, request: pb.BatchGetInvoicesByEngagementRequest, context: Any
    ) -> pb.BatchGetInvoicesByEngagementResponse:
        ids = parse_ids(list(request.engagement_ids), "engagement_ids", "engagement")
        found = await self.read(lambda repo: queries.invoices_by_engagement(repo, ids))
        return pb.BatchGetInvoicesByEngagementResponse(
            engagements=[
                pb.EngagementInvoices(
                    engagement_id=str(e.engagement_id),
                    set_up=e.set_up,
                    invoices=[convert.invoice_to_proto(i) for i in e.invoices],
                )
                for e in found
            ]
        )

    async def GetUnbilled(
        self, request: pb.GetUnbilledRequest, context: Any
    ) -> pb.GetUnbilledResponse:
        engagement_id = parse_id(request.engagement_id, "engagement_id", "engagement")
        items, total = await self.read(lambda repo: queries.get_unbilled(repo, engagement_id))
        return pb.GetUnbilledResponse(
            engagement_id=str(engagement_id),
            items=[convert.unbilled_to_proto(i) for i in items],
            total=money_to_proto(total),
        )

    async def GetAging(self, request: pb.GetAgingRequest, context: Any) -> pb.GetAgingResponse:
        as_of = parse_date(request.as_of, "as_of")
        report = await self.read(
            lambda repo: queries.get_aging(repo, as_of, request.legal_entity or None)
        )
        return pb.GetAgingResponse(currencies=[convert.aging_to_proto(a) for a in report])
